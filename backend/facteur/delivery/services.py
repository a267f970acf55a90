"""What the delivery service asks of the database: plain synchronous functions.

They run in worker threads, never on the event loop. Each call first drops a
connection that broke or aged out (as Django does around a web request), so that a
database restart costs one 4xx per session at most, not a dead service.
"""

from __future__ import annotations

from django.db import close_old_connections

from facteur.ingest.batch import Received, ingest_batch
from facteur.ingest.recipients import Destination, destination_for
from facteur.ingest.services import IngestResult


def recipient_destination(address: str) -> Destination | None:
    """The mailbox ``address`` reaches (directly or through an alias), or None.

    The same short-lived cache as ingest's: the DATA that follows finds it warm.
    """
    close_old_connections()
    try:
        return destination_for(address)
    finally:
        close_old_connections()


def deliver_batch(messages: list[Received]) -> list[IngestResult | Exception]:
    """Store several messages together (one transaction when all goes well); in order,
    each one's result once it is committed, or the exception that kept it out."""
    close_old_connections()
    try:
        return ingest_batch(messages)
    finally:
        close_old_connections()
