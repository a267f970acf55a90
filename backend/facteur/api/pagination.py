"""Keyset ("cursor") pagination on (last_activity_at, id), newest first.

Offsets get slower with every page and skip or repeat rows when mail arrives
between two requests; a keyset cursor does neither. The cursor is opaque to
clients: base64 of the last row's sort key.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from rest_framework.exceptions import ValidationError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def encode_cursor(when: datetime, pk: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{when.isoformat()}|{pk}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        when, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(when), uuid.UUID(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": ["Invalid cursor."]}) from None


def page_size_from(params: Any) -> int:
    raw = params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise ValidationError({"page_size": ["A whole number is required."]}) from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError({"page_size": [f"Between 1 and {MAX_PAGE_SIZE}."]})
    return size


def after_cursor(queryset: QuerySet, cursor: str | None) -> QuerySet:
    """Rows strictly after the cursor, newest first, as an index-friendly row comparison."""
    queryset = queryset.order_by("-last_activity_at", "-id")
    if not cursor:
        return queryset
    when, pk = decode_cursor(cursor)
    table = queryset.model._meta.db_table
    # ``table`` comes from the model; the values are parameters.
    condition = RawSQL(  # noqa: S611
        f'("{table}"."last_activity_at", "{table}"."id") < (%s, %s)',
        (when, pk),
        output_field=BooleanField(),
    )
    return queryset.filter(condition)
