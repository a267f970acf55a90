"""Holding ingest inside its transaction, from the test's own database connection.

Ingest takes a transaction-scoped advisory lock per Message-ID before storing a
mailbox's copy (``ingest.threads``); the test takes the same lock first, so ingest
waits there with its transaction open, for as long as the test wants.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from facteur.domains.models import Mailbox
from facteur.ingest.parse import parse_message
from facteur.ingest.threads import _lock_key


@contextmanager
def conversation_locked(mailbox: Mailbox, raw: bytes) -> Iterator[None]:
    """Hold the lock ingest takes to store ``raw`` in ``mailbox``."""
    key = _lock_key(mailbox.pk, parse_message(raw).mime_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def ingest_waiting() -> bool:
    """Whether some session of the test database waits for an advisory lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        )
        return cursor.fetchone()[0] > 0
