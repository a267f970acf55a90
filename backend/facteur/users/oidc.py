"""OpenID Connect login (mozilla-django-oidc) against any provider: Keycloak, Authentik...

How a login maps to a user (see docs/auth.md):

1. by the ``sub`` claim: the provider's stable identifier of the person;
2. otherwise by e-mail, only when the provider says the address is verified
   (``email_verified``) and the account with that address has no ``sub`` yet: an account
   created locally (CLI, demo data, admin) is linked to its OIDC identity at its owner's first
   login. An account already linked to another subject is never taken over, and an
   unverified address never links (OIDC_LINK_VERIFIED_EMAIL = False turns linking off);
3. otherwise a new user (unless OIDC_CREATE_USER is false), refused when the e-mail belongs
   to another account.

Each login updates the e-mail and the name from the claims. A login without a ``sub`` or a
valid e-mail is refused with a log line; tokens are never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from mozilla_django_oidc import views as oidc_views
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from facteur.users.models import User
from facteur.users.selectors import oidc_logout_url
from facteur.users.services import (
    FULL_NAME_MAX_LENGTH,
    user_create_from_oidc,
    user_update_from_oidc,
)

log = logging.getLogger(__name__)

SUB_MAX_LENGTH = User._meta.get_field("sub").max_length


@dataclass(frozen=True)
class OIDCIdentity:
    sub: str
    email: str
    email_verified: bool
    full_name: str


def identity_from_claims(claims: dict[str, Any]) -> OIDCIdentity | None:
    """The identity in the provider's claims, or None (with the reason logged)."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        log.warning("OIDC login refused: the provider sent no 'sub' claim")
        return None
    if len(sub) > SUB_MAX_LENGTH:
        log.warning("OIDC login refused: the 'sub' claim is over %d characters", SUB_MAX_LENGTH)
        return None
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        log.warning(
            "OIDC login refused for sub=%s: no 'email' claim (is the 'email' scope granted?)", sub
        )
        return None
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        log.warning("OIDC login refused for sub=%s: the 'email' claim is not an address", sub)
        return None
    verified = claims.get("email_verified")
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = (claims.get("given_name"), claims.get("family_name"))
        name = " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
    return OIDCIdentity(
        sub=sub,
        email=email,
        # Some providers send the string "true".
        email_verified=verified is True or (isinstance(verified, str) and verified == "true"),
        full_name=name.strip()[:FULL_NAME_MAX_LENGTH],
    )


class FacteurOIDCBackend(OIDCAuthenticationBackend):
    """Users identified by the provider's ``sub``; see the module's docstring."""

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Django offers every backend every login; only the OIDC callback view passes
        # `nonce`. A password login (or a stray ?code=&state= on its URL) never gets here.
        if "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def get_userinfo(self, access_token: str, id_token: str, payload: dict) -> dict:
        claims = super().get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 5.3.2: the userinfo `sub` must be the ID token's.
        if claims.get("sub") != payload.get("sub"):
            log.warning("OIDC login refused: the userinfo 'sub' differs from the ID token's")
            raise SuspiciousOperation("userinfo sub does not match the ID token")
        return claims

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return identity_from_claims(claims) is not None

    def describe_user_by_claims(self, claims: dict[str, Any]) -> str:
        return f"sub {claims.get('sub')}"

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[User]:
        identity = identity_from_claims(claims)
        if identity is None:
            return User.objects.none()
        by_sub = User.objects.filter(sub=identity.sub)
        if by_sub.exists():
            return by_sub
        if identity.email_verified and getattr(settings, "OIDC_LINK_VERIFIED_EMAIL", True):
            return User.objects.filter(email=identity.email, sub__isnull=True)
        return User.objects.none()

    def create_user(self, claims: dict[str, Any]) -> User:
        identity = self._identity(claims)
        try:
            user = user_create_from_oidc(
                sub=identity.sub, email=identity.email, full_name=identity.full_name
            )
        except ValidationError as exc:
            self._refuse(identity, exc)
        log.info("OIDC user created: sub=%s email=%s", identity.sub, user.email)
        return user

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        identity = self._identity(claims)
        linking = user.sub is None
        try:
            user = user_update_from_oidc(
                user=user, sub=identity.sub, email=identity.email, full_name=identity.full_name
            )
        except ValidationError as exc:
            self._refuse(identity, exc)
        if linking:
            log.info("OIDC sub=%s linked to the existing account %s", identity.sub, user.email)
        return user

    @staticmethod
    def _identity(claims: dict[str, Any]) -> OIDCIdentity:
        identity = identity_from_claims(claims)
        if identity is None:  # verify_claims() already refused these
            raise SuspiciousOperation("invalid OIDC claims")
        return identity

    @staticmethod
    def _refuse(identity: OIDCIdentity, exc: ValidationError) -> NoReturn:
        reason = " ".join(exc.messages)
        log.warning("OIDC login refused for sub=%s: %s", identity.sub, reason)
        # mozilla-django-oidc turns this into a failed login (LOGIN_REDIRECT_URL_FAILURE).
        raise SuspiciousOperation(reason) from exc


def provider_logout_url(request: HttpRequest) -> str:
    """OIDC_OP_LOGOUT_URL_METHOD for mozilla-django-oidc's /oidc/logout/ view."""
    return oidc_logout_url(request=request) or resolve_url(settings.LOGOUT_REDIRECT_URL)


class _OnlyWhenEnabled:
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404("OIDC is not enabled.")
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class OIDCAuthenticationRequestView(_OnlyWhenEnabled, oidc_views.OIDCAuthenticationRequestView):
    """/oidc/authenticate/: redirects to the provider; 404 when OIDC_ENABLED is false."""


class OIDCAuthenticationCallbackView(_OnlyWhenEnabled, oidc_views.OIDCAuthenticationCallbackView):
    """/oidc/callback/: the provider's redirect back; 404 when OIDC_ENABLED is false."""
