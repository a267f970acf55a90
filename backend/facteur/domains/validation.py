"""Syntax of domain names and local parts, checked before anything is stored."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# dot-atom text as mailbox names use it in practice (RFC 5322 3.2.3, no quoting).
_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


def clean_domain_name(value: str) -> str:
    name = value.strip().lower().rstrip(".")
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"{value!r} is not a valid domain name.", code="invalid") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise ValidationError(f"{value!r} is not a valid domain name.", code="invalid")
    return ascii_name


def clean_local_part(value: str) -> str:
    local = value.strip().lower()
    if not local or len(local) > 64 or not _LOCAL.match(local):
        raise ValidationError(
            f"{value!r} is not a valid local part (letters, digits, . _ + - and no "
            "leading, trailing or double dots).",
            code="invalid",
        )
    return local
