"""Writes on users: local accounts for the single-machine run, and OIDC identities."""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from facteur.domains.models import MailboxAccess
from facteur.domains.services import access_revoke
from facteur.users.models import User
from facteur.users.selectors import oidc_logout_url

log = logging.getLogger(__name__)

# The languages of the interface; User.language holds one of these codes.
LANGUAGES = {"en": "English", "fr": "Français"}

FULL_NAME_MAX_LENGTH = User._meta.get_field("full_name").max_length

# One message for an unknown address, a wrong password and a disabled account: the
# answer never tells whether an account exists.
INVALID_CREDENTIALS = "Unknown e-mail address or wrong password."


class InvalidCredentials(Exception):
    pass


class LoginThrottled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins, retry in {retry_after}s")
        self.retry_after = retry_after


def user_create(
    *,
    email: str,
    password: str | None = None,
    full_name: str = "",
    is_staff: bool = False,
) -> User:
    address = email.strip().lower()
    validate_email(address)
    if User.objects.filter(email=address).exists():
        raise ValidationError(f"A user with the e-mail {address} already exists.", code="duplicate")
    if password is not None:
        validate_password(password)
    return User.objects.create_user(
        address, password, full_name=full_name, is_staff=is_staff, is_superuser=is_staff
    )


def user_set_password(*, user: User, password: str) -> None:
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])


def user_update(*, user: User, full_name: str | None = None, language: str | None = None) -> User:
    """What a user may change about themselves (``None`` leaves a field as it is)."""
    changed: list[str] = []
    if full_name is not None:
        name = full_name.strip()
        if len(name) > FULL_NAME_MAX_LENGTH:
            raise ValidationError(
                {"full_name": f"The name is longer than {FULL_NAME_MAX_LENGTH} characters."},
                code="max_length",
            )
        if name != user.full_name:
            user.full_name = name
            changed.append("full_name")
    if language is not None:
        if language not in LANGUAGES:
            raise ValidationError(
                {"language": f"Unknown language {language!r}."}, code="invalid_choice"
            )
        if language != user.language:
            user.language = language
            changed.append("language")
    if changed:
        user.save(update_fields=changed)
    return user


# --- Local login ------------------------------------------------------------------------


def _client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded header can be forged by the client. Behind a reverse
    # proxy every client shares the proxy's address and the limit is per e-mail address.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _failures_key(*, email: str, ip: str) -> str:
    digest = hashlib.sha256(f"{email}\0{ip}".encode()).hexdigest()
    return f"users:login-failures:{digest}"


def _login_limits() -> tuple[int, int]:
    return (
        int(getattr(settings, "FACTEUR_LOGIN_MAX_FAILURES", 10)),
        int(getattr(settings, "FACTEUR_LOGIN_FAILURE_WINDOW", 15 * 60)),
    )


def _login_throttle_check(*, key: str) -> None:
    max_failures, window = _login_limits()
    failures = cache.get_many([key, f"{key}:since"])
    if failures.get(key, 0) < max_failures:
        return
    since = failures.get(f"{key}:since", time.time())
    raise LoginThrottled(retry_after=max(1, math.ceil(since + window - time.time())))


def _login_failure_record(*, key: str) -> None:
    _, window = _login_limits()
    # A fixed window from the first failure; add() only sets what does not exist yet and
    # incr() is atomic in Redis, so concurrent attempts are all counted.
    cache.add(f"{key}:since", time.time(), timeout=window)
    cache.add(key, 0, timeout=window)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window)


def user_login(*, request: HttpRequest, email: str, password: str) -> User:
    """Check a local account's password and open a Django session for it.

    Raises LoginThrottled after FACTEUR_LOGIN_MAX_FAILURES (10) failures for this e-mail
    address from this client address within FACTEUR_LOGIN_FAILURE_WINDOW (900 s), even with
    the right password, and InvalidCredentials for any other refusal.
    """
    address = email.strip().lower()
    key = _failures_key(email=address, ip=_client_ip(request))
    _login_throttle_check(key=key)
    user = auth.authenticate(request, email=address, password=password)
    if user is None:
        _login_failure_record(key=key)
        log.info("local login refused for a client at %s", _client_ip(request))
        raise InvalidCredentials(INVALID_CREDENTIALS)
    cache.delete_many([key, f"{key}:since"])
    auth.login(request, user)
    return user


def user_logout(*, request: HttpRequest) -> str | None:
    """End the session; return the provider's logout URL when the session came from OIDC."""
    redirect = oidc_logout_url(request=request)
    auth.logout(request)
    return redirect


# --- OIDC identities --------------------------------------------------------------------


def user_create_from_oidc(*, sub: str, email: str, full_name: str) -> User:
    """A new user for an OIDC subject. Raises ValidationError when the e-mail is taken."""
    if User.objects.filter(email=email).exists():
        raise ValidationError(
            f"The e-mail {email} belongs to another account.", code="duplicate_email"
        )
    try:
        with transaction.atomic():
            return User.objects.create_user(email, None, sub=sub, full_name=full_name)
    except IntegrityError:
        # Two first logins of the same subject at once: the other one created it.
        existing = User.objects.filter(sub=sub).first()
        if existing is None:
            raise ValidationError(
                f"The e-mail {email} belongs to another account.", code="duplicate_email"
            ) from None
        return existing


def user_update_from_oidc(*, user: User, sub: str, email: str, full_name: str) -> User:
    """Bring a user in line with the provider's claims at login.

    Sets ``sub`` when an existing account is linked to its OIDC subject, the name when the
    provider sends one, and the e-mail unless another account already uses it (then the old
    address is kept and a warning logged: the login itself is still valid).
    """
    changed: list[str] = []
    if user.sub != sub:
        user.sub = sub
        changed.append("sub")
    if full_name and full_name != user.full_name:
        user.full_name = full_name
        changed.append("full_name")
    if email != user.email:
        if User.objects.filter(email=email).exclude(pk=user.pk).exists():
            log.warning(
                "OIDC user sub=%s: keeping e-mail %s, the provider's %s belongs to another account",
                sub,
                user.email,
                email,
            )
        else:
            user.email = email
            changed.append("email")
    if changed:
        try:
            with transaction.atomic():
                user.save(update_fields=changed)
        except IntegrityError:
            raise ValidationError(
                f"Could not update the account of sub={sub}: a concurrent change took its "
                "e-mail or subject.",
                code="conflict",
            ) from None
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete a user and their accesses, refusing to leave a shared mailbox without admin."""
    for access in MailboxAccess.objects.filter(user=user).select_related("mailbox__domain"):
        access_revoke(access=access)
    user.delete()
