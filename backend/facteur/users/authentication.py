"""DRF authentication by the Django session, for local and OIDC logins alike.

DRF's own ``SessionAuthentication`` has no ``authenticate_header``, so DRF answers 403 to an
anonymous request; with a ``WWW-Authenticate`` challenge it answers 401, which is what a
client needs to tell "log in" from "not allowed". Set it first in
``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]``.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework.request import Request


class SessionAuthentication(authentication.SessionAuthentication):
    """The Django session; anonymous requests get 401 with ``WWW-Authenticate: Session``."""

    def authenticate_header(self, request: Request) -> str:
        return "Session"


def enforce_csrf(request: Request) -> None:
    """Check the CSRF token of an unsafe request even without a session (DRF skips it then).

    For the login endpoint: without it a third-party page could log a victim's browser into
    the attacker's account ("login CSRF"), since DRF views are exempt from Django's CSRF
    middleware. Raises PermissionDenied (403).
    """
    SessionAuthentication().enforce_csrf(request)


class SessionScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme: the session cookie (``cookieAuth``, as for DRF's class)."""

    target_class = "facteur.users.authentication.SessionAuthentication"
    match_subclasses = True
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
