"""The webmail (frontend/, a single-page app) served by Django.

Every path that is not the API's, the admin's, OIDC's, the probes' or a static file
answers the app's index.html; the app's router then shows the right page, so its URLs
can be shared and reloaded. The hashed assets are static files (settings: the
"Webmail" part), served by WhiteNoise under /static/webmail/assets/.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views.decorators.http import require_safe

# What the app may load. Message bodies are shown in sandboxed srcdoc iframes, which
# inherit this policy on top of their own stricter one (frontend/src/thread/htmlFrame.ts):
# hence inline styles, and images from anywhere, which the frame's own policy only
# lets through after the reader asks to see remote images.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https: http:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

NOT_BUILT = (
    "The webmail is not built yet: scripts/run builds it (or scripts/frontend build).\n"
    "The API is at /api/v1.0/.\n"
)

# Paths the app must never shadow: these answer (or 404) on their own.
_RESERVED = r"(?:api|api-auth|admin|oidc|static)(?:/|$)|(?:healthz|readyz|metrics)$"


@require_safe
def webmail_index(request: HttpRequest) -> HttpResponse:
    index = Path(settings.FACTEUR_WEBMAIL_DIR) / "index.html"
    try:
        html = index.read_bytes()
    except FileNotFoundError:
        return HttpResponse(NOT_BUILT, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    # The page names its assets by content hash: it must be checked at every visit.
    response["Cache-Control"] = "no-cache"
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "same-origin"
    return response


urlpatterns = [re_path(rf"^(?!{_RESERVED}).*$", webmail_index, name="webmail")]
