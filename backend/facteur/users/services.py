"""Writes on users: local accounts for the single-machine run, and OIDC identities."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from facteur.users.models import User


def user_create(
    *, email: str, password: str | None = None, full_name: str = "", is_staff: bool = False
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
