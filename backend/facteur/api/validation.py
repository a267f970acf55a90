"""Validating request input with a serializer, in one line per view."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def field_error(field: str, message: str) -> serializers.ValidationError:
    """A 400 naming the field at fault: ``raise field_error("mailbox", "No such mailbox.")``."""
    return serializers.ValidationError({field: [message]})
