from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from facteur.ops.health import healthz, readyz
from facteur.ops.metrics import metrics_view

urlpatterns = [
    path("api/v1.0/", include("facteur.api.urls")),
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]
if settings.FACTEUR_BROWSABLE_API and settings.FACTEUR_LOCAL_ACCOUNTS:
    urlpatterns.append(path("api-auth/", include("rest_framework.urls")))
# Last: every other path is a page of the webmail.
urlpatterns.append(path("", include("facteur.config.webmail")))
