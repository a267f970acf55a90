"""Service-token authentication for the internal API.

``Authorization: Bearer <FACTEUR_SERVICE_TOKEN>``, compared in constant time. A session
cookie counts for nothing here: internal views list only this class, so a logged-in user
is anonymous to them and gets 401.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.request import Request


class ServicePrincipal:
    """The caller holding the service token: a machine, not a user."""

    is_authenticated = True
    is_anonymous = False
    pk = None

    def __str__(self) -> str:
        return "service"


def service_token() -> str:
    return settings.FACTEUR_SERVICE_TOKEN


def token_matches(presented: str) -> bool:
    expected = service_token()
    # An empty setting disables the API; it must never match an empty token.
    if not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


class ServiceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ServicePrincipal, None] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed bearer token.")
        try:
            presented = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed bearer token.") from exc
        if not token_matches(presented):
            raise exceptions.AuthenticationFailed("Invalid service token.")
        return ServicePrincipal(), None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
