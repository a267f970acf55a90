"""SQL for the hot path of delivery: rows inserted in one round trip, parameters bound
by the server.

Two costs dominate a naive delivery, and both are avoided here:

- the ORM compiles every INSERT in Python (several hundred microseconds each);
  here column lists come from the models once, fields left out take the model's
  defaults (a field added with a default needs no change here), values go
  through each field's own ``get_db_prep_save`` (JSON, UUIDs), and the rows of
  several tables are written by one statement of data-modifying CTEs;
- Django's cursors bind parameters on the client, so a 20 KB body is escaped
  into the SQL text, which the server then lexes and plans afresh each time.
  ``execute_bound`` sends parameters separately (bodies and JSON travel as
  they are) and lets psycopg prepare statements it sees repeatedly, so their
  plans are reused. The long multi-row statements are sent with PostgreSQL's own
  ``$n`` placeholders (numbered once per statement shape, remembered), which
  psycopg passes as they are; it re-parses ``%s`` in every statement over 4 KB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache, lru_cache

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils import timezone


@cache
def _table(model: type[models.Model]) -> tuple[str, tuple[models.Field, ...]]:
    """The "INSERT INTO table (columns) VALUES" head of ``model``, and the fields it lists."""
    # Database-generated keys (BigAutoField) are left to the database.
    fields = tuple(f for f in model._meta.concrete_fields if not getattr(f, "db_returning", False))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ", fields  # noqa: S608 - model names


def insert_statement(
    model: type[models.Model], rows: Sequence[Mapping[str, object]]
) -> tuple[str, list[object]]:
    """An ``INSERT`` of ``rows`` (attname -> value) into ``model``'s table, and its params.

    No rows give an empty statement, which ``insert_together`` skips.
    """
    if not rows:
        return "", []
    head, fields = _table(model)
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy costs per access
    now = timezone.now()
    params = []
    for row in rows:
        for field in fields:
            name = field.attname
            if name in row:
                value = row[name]
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = now
            else:
                value = field.get_default()
            params.append(field.get_db_prep_save(value, db))
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return head + ", ".join([placeholders] * len(rows)), params


def insert_together(*statements: tuple[str, list[object]]) -> None:
    """Run several INSERT statements as one (data-modifying CTEs): one round trip."""
    statements = tuple(s for s in statements if s[0])
    *first, last = statements
    sql = ""
    if first:
        sql = "WITH " + ", ".join(f"w{i} AS ({s})" for i, (s, _) in enumerate(first)) + " "
    params = [p for _, ps in statements for p in ps]
    execute_bound(_numbered(sql + last[0]), params, numbered=True)


@lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """``sql`` with its ``%s`` placeholders as ``$1``, ``$2``...; the shapes of the
    delivery statements repeat (they vary with the numbers of rows only)."""
    parts = sql.split("%s")
    numbered = [f"{part}${i}" for i, part in enumerate(parts[:-1], start=1)]
    return "".join(numbered) + parts[-1]


def execute_bound(
    sql: str, params: Sequence[object] | Mapping[str, object], *, numbered: bool = False
) -> list[tuple]:
    """Execute with server-side binding on Django's connection; returns the rows, if any.

    Django's cursor wrapper around a psycopg server-binding cursor: same transaction,
    same exceptions (IntegrityError...) and same execute wrappers as Django's cursors.
    ``numbered``: ``sql`` has ``$n`` placeholders, not ``%s``.
    """
    db = connections[DEFAULT_DB_ALIAS]
    db.ensure_connection()
    wrapper = CursorDebugWrapper if db.queries_logged else CursorWrapper
    cursor_class = psycopg.RawCursor if numbered else psycopg.Cursor
    with wrapper(cursor_class(db.connection), db) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
