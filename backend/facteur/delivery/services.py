"""What the delivery service asks of the database: plain synchronous functions.

They run in worker threads, never on the event loop. Each call first drops a
connection that broke or aged out (as Django does around a web request), so that a
database restart costs one 4xx per session at most, not a dead service.
"""

from __future__ import annotations

from django.db import close_old_connections

from facteur.ingest.recipients import destination_for
from facteur.ingest.services import IngestResult, ingest_message


def recipient_known(address: str) -> bool:
    """Whether ``address`` reaches a mailbox (directly or through an alias).

    The same short-lived cache as ingest's: the DATA that follows finds it warm.
    """
    close_old_connections()
    try:
        return destination_for(address) is not None
    finally:
        close_old_connections()


def deliver(*, raw: bytes, recipients: list[str]) -> IngestResult:
    """Store ``raw`` for each recipient; returns once every stored copy is committed.

    Raises on infrastructure failures (the caller answers 4xx; a retry is idempotent).
    """
    close_old_connections()
    try:
        return ingest_message(raw=raw, recipients=recipients)
    finally:
        close_old_connections()
