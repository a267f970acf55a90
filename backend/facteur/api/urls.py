"""Every route of the REST API, under /api/v1.0/; each app contributes its own urls.py."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("", include("facteur.users.urls")),
    path("", include("facteur.domains.urls")),
    path("", include("facteur.mail.urls")),
    path("", include("facteur.blobs.urls")),
    path("", include("facteur.internal.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
