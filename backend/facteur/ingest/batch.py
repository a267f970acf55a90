"""Storing several received messages in one transaction (group commit).

A delivery service that has several messages in hand (concurrent LMTP sessions)
stores them together: one transaction, one commit, instead of one per copy. Each
message's outcome counts only once the whole batch is committed. Any error rolls the
batch back whole and its messages are stored again one by one, each with its own
outcome: one bad message costs the others a second try, never their delivery, and a
message reported stored is always committed.

Every transaction here first locks the mailboxes it writes to, in sorted order, so
that two of them (batches, or messages retried alone) never wait for each other in
a cycle: those writing to a same mailbox take turns.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from facteur.ingest import batching
from facteur.ingest.recipients import destination_for
from facteur.ingest.services import IngestResult, ingest_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    raw: bytes
    recipients: list[str]


def ingest_batch(messages: Sequence[Received]) -> list[IngestResult | Exception]:
    """Store each message as ``ingest_message`` would; in order, its result or the
    exception that kept it from being stored (a retry is idempotent)."""
    try:
        with transaction.atomic():
            _lock_mailboxes(messages)
            with batching.opened():
                results = [ingest_message(raw=m.raw, recipients=m.recipients) for m in messages]
                batching.flush()
        return results
    except Exception:
        log.warning(
            "storing %d message(s) together failed; storing them one by one",
            len(messages),
            exc_info=True,
        )
    return [_alone(message) for message in messages]


def _alone(message: Received) -> IngestResult | Exception:
    """One message in its own transaction, with ingest's recovery (a parsed value the
    database refuses, a concurrent copy), and its mailboxes locked like a batch's."""
    try:
        with transaction.atomic():
            _lock_mailboxes([message])
            with batching.opened(shared=False):
                return ingest_message(raw=message.raw, recipients=message.recipients)
    except Exception as exc:  # this message's own failure; the caller answers for it
        return exc


def _lock_mailboxes(messages: Sequence[Received]) -> None:
    """Hold, until commit, one lock per mailbox the batch writes to, taken in one sorted
    go: batches in parallel threads then write to disjoint mailboxes, so the rows they
    lock (threads, contacts) cannot make them wait for each other in a cycle."""
    mailboxes: set[uuid.UUID] = set()
    for message in messages:
        for recipient in message.recipients:
            destination = destination_for(recipient.strip().strip("<>"))
            if destination is not None:
                mailboxes.add(destination.mailbox_id)
    if not mailboxes:
        return
    keys = sorted(_lock_key(mailbox_id) for mailbox_id in mailboxes)
    calls = ", ".join(["pg_advisory_xact_lock(%s)"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", keys)


def _lock_key(mailbox_id: uuid.UUID) -> int:
    # Other keys (ingest.threads) hash "<mailbox uuid>\0<Message-ID>": no overlap.
    digest = hashlib.blake2b(f"mailbox\0{mailbox_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
