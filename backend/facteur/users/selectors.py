"""Reads about users and their sessions."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.module_loading import import_string
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

AuthMethod = Literal["oidc", "local"]

# Where mozilla-django-oidc keeps the ID token (OIDC_STORE_ID_TOKEN = True).
ID_TOKEN_SESSION_KEY = "oidc_id_token"


def user_auth_method(*, request: HttpRequest) -> AuthMethod:
    """How the current session was opened: by the OIDC provider or with a local password."""
    backend_path = request.session.get(BACKEND_SESSION_KEY)
    if not backend_path:
        return "local"
    try:
        backend = import_string(backend_path)
    except ImportError:
        return "local"
    if isinstance(backend, type) and issubclass(backend, OIDCAuthenticationBackend):
        return "oidc"
    return "local"


def oidc_logout_url(*, request: HttpRequest) -> str | None:
    """The provider's RP-initiated logout URL for this session, or None.

    None when the session did not come from OIDC or no OIDC_OP_LOGOUT_ENDPOINT is set. The
    URL carries ``id_token_hint`` (the ID token kept at login) when there is one, the
    ``client_id`` and ``post_logout_redirect_uri`` (LOGOUT_REDIRECT_URL made absolute, which
    must be registered at the provider).
    """
    endpoint = getattr(settings, "OIDC_OP_LOGOUT_ENDPOINT", "")
    if not endpoint or user_auth_method(request=request) != "oidc":
        return None
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(
            resolve_url(settings.LOGOUT_REDIRECT_URL)
        ),
    }
    id_token = request.session.get(ID_TOKEN_SESSION_KEY)
    if id_token:
        params["id_token_hint"] = id_token
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"
