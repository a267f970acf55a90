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
