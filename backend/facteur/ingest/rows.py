"""Inserting a delivery's rows in one round trip, without the ORM's per-query compilation.

The ORM costs several hundred microseconds of Python per INSERT, which is most
of a 600 messages/s budget. Here the column lists come from the models once,
fields left out take the model's defaults (so a field added to a model with a
default needs no change here), values go through each field's own
``get_db_prep_save`` (JSON, UUIDs), and the rows of several tables are written
by one statement of data-modifying CTEs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from django.db import connection, models
from django.utils import timezone


@cache
def _columns(model: type[models.Model]) -> tuple[models.Field, ...]:
    # Database-generated keys (BigAutoField) are left to the database.
    return tuple(f for f in model._meta.concrete_fields if not getattr(f, "db_returning", False))


def _value(field: models.Field, row: Mapping[str, object], now: object) -> object:
    if field.attname in row:
        value = row[field.attname]
    elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        value = now
    else:
        value = field.get_default()
    return field.get_db_prep_save(value, connection)


def insert_statement(
    model: type[models.Model], rows: Sequence[Mapping[str, object]]
) -> tuple[str, list[object]]:
    """An ``INSERT`` of ``rows`` (attname -> value) into ``model``'s table, and its params.

    No rows give an empty statement, which ``insert_together`` skips.
    """
    if not rows:
        return "", []
    fields = _columns(model)
    now = timezone.now()
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [_value(f, row, now) for row in rows for f in fields]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608 - names from the models
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([placeholders] * len(rows))}"
    )
    return sql, params


def insert_together(*statements: tuple[str, list[object]]) -> None:
    """Run several INSERT statements as one (data-modifying CTEs): one round trip."""
    statements = tuple(s for s in statements if s[0])
    *first, last = statements
    sql = ""
    if first:
        sql = "WITH " + ", ".join(f"w{i} AS ({s})" for i, (s, _) in enumerate(first)) + " "
    params = [p for _, ps in statements for p in ps]
    with connection.cursor() as cursor:
        cursor.execute(sql + last[0], params)
