"""Delivering one received message to its recipients' mailboxes: the delivery agent's core.

Every inbound path (LMTP delivery service, SMTP listener, demo seeding,
imports) calls ``ingest_message``. Each recipient mailbox gets its own copy in
its own transaction (the delivery service's batches hold several messages in
one: ``ingest.batch``), so what is reported stored is committed. Bad input never
raises (it is stored and flagged malformed); infrastructure failures (the
database down) do, so that the SMTP layer answers 4xx and the sender retries.
A retry of a delivery that partly succeeded stores only what is missing.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial

from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from facteur.blobs.models import Blob
from facteur.blobs.services import blob_put
from facteur.ingest import batching
from facteur.ingest.parse import ParsedMessage, Person, parse_message, unparsed
from facteur.ingest.recipients import Destination, destination_for
from facteur.ingest.rows import insert_statement, insert_together
from facteur.ingest.subjects import strip_prefixes
from facteur.ingest.threads import place_message
from facteur.mail.models import Attachment, Message, MessageRecipient, Thread
from facteur.mail.services.contacts import Use, contacts_record_uses
from facteur.mail.services.threads import threads_refresh
from facteur.mail.services.unread import unread_mark_for_members
from facteur.ops.metrics import INGEST_LATENCY, INGESTED
from facteur.search.services import search_index_messages
from facteur.sending.delivery_reports import is_delivery_report, report_received

log = logging.getLogger(__name__)

# The unique constraint on Message that makes a retried delivery a no-op.
_DELIVERY_CONSTRAINT = "message_delivery_unique"


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # these bytes were already stored in that mailbox
    UNKNOWN_RECIPIENT = "unknown_recipient"


@dataclass(frozen=True)
class RecipientOutcome:
    recipient: str
    outcome: Outcome
    message_id: uuid.UUID | None  # the stored (or already stored) message


@dataclass(frozen=True)
class IngestResult:
    recipients: list[RecipientOutcome]
    is_malformed: bool
    parse_errors: list[str]

    def outcome(self, recipient: str) -> RecipientOutcome | None:
        wanted = recipient.strip().lower()
        return next((r for r in self.recipients if r.recipient.lower() == wanted), None)


def ingest_message(
    *, raw: bytes, recipients: list[str], received_at: datetime | None = None
) -> IngestResult:
    """Store ``raw`` (RFC 5322 bytes) once in each mailbox the envelope recipients reach."""
    started = time.perf_counter()
    received_at = received_at or timezone.now()
    parsed = parse_message(raw)
    delivery = _Delivery(raw=raw, parsed=parsed, received_at=received_at)
    by_mailbox: dict[uuid.UUID, tuple[Outcome, uuid.UUID | None]] = {}
    outcomes = []
    for recipient in recipients:
        address = recipient.strip().strip("<>")
        destination = destination_for(address)
        if destination is None:
            batching.after_commit(INGESTED.labels(Outcome.UNKNOWN_RECIPIENT.value).inc)
            outcomes.append(RecipientOutcome(address, Outcome.UNKNOWN_RECIPIENT, None))
            continue
        mailbox_id = destination.mailbox_id
        if mailbox_id not in by_mailbox:
            # Aliases and the main address of one mailbox share one copy.
            by_mailbox[mailbox_id] = delivery.to_mailbox(destination)
            outcome = by_mailbox[mailbox_id][0]
            label = "malformed" if outcome is Outcome.STORED and parsed.is_malformed else outcome
            batching.after_commit(INGESTED.labels(str(label)).inc)
        outcome, message_id = by_mailbox[mailbox_id]
        outcomes.append(RecipientOutcome(address, outcome, message_id))
    elapsed = time.perf_counter() - started
    batching.after_commit(lambda: INGEST_LATENCY.observe(elapsed))
    parsed = delivery.parsed  # unparsed if the database refused the parsed fields
    return IngestResult(
        recipients=outcomes, is_malformed=parsed.is_malformed, parse_errors=parsed.errors
    )


class _Delivery:
    """One message on its way to one or more mailboxes; blobs are written once for all."""

    def __init__(self, *, raw: bytes, parsed: ParsedMessage, received_at: datetime) -> None:
        self.raw = raw
        self.parsed = parsed
        self.received_at = received_at
        self.unparsed = False
        self.content_hash = hashlib.sha256(raw).hexdigest()
        # Blobs of committed copies; a rolled-back copy's blobs may be gone, so not kept.
        self._blobs: dict[object, Blob] = {}
        self._pending: dict[object, Blob] = {}

    def to_mailbox(self, destination: Destination) -> tuple[Outcome, uuid.UUID | None]:
        try:
            return self._commit(destination)
        except IntegrityError as exc:
            # A concurrent delivery of the same bytes committed first: that is a retry too.
            if _constraint(exc) != _DELIVERY_CONSTRAINT or batching.active():
                raise  # in a batch: the transaction is spoilt, the batch goes one by one
            return Outcome.DUPLICATE, self._existing_copy(destination)
        except (DataError, UnicodeEncodeError):
            if self.unparsed or batching.active():
                raise
            # A parsed value the database (or the driver) refused is a parser bug; it must
            # not bounce the mail forever, so store it unparsed (the raw bytes say it all).
            log.exception("storing the parsed message failed; storing it unparsed")
            self.parsed, self.unparsed = unparsed(self.parsed), True
            return self.to_mailbox(destination)

    def _commit(self, destination: Destination) -> tuple[Outcome, uuid.UUID | None]:
        try:
            # In a batch, the batch's transaction holds the copy (no savepoint).
            with transaction.atomic(savepoint=not batching.active()):
                outcome = self._store(destination)
        except Exception:
            self._pending.clear()  # blobs written by the rolled-back transaction are gone
            raise
        self._blobs.update(self._pending)
        self._pending.clear()
        return outcome

    def _existing_copy(self, destination: Destination) -> uuid.UUID | None:
        return (
            Message.objects.filter(
                mailbox_id=destination.mailbox_id,
                mime_id=self.parsed.mime_id,
                content_hash=self.content_hash,
                is_draft=False,
            )
            .values_list("id", flat=True)
            .first()
        )

    def _store(self, destination: Destination) -> tuple[Outcome, uuid.UUID | None]:
        parsed = self.parsed
        own = destination.own_addresses
        people = [p for p in (parsed.sender, *parsed.to, *parsed.cc, *parsed.bcc) if p]
        placement = place_message(
            mailbox_id=destination.mailbox_id,
            parsed=parsed,
            content_hash=self.content_hash,
            participants={p.email for p in (*people, *parsed.reply_to)} - own,
            received_at=self.received_at,
        )
        if placement.duplicate_of:
            return Outcome.DUPLICATE, placement.duplicate_of
        message_id, thread_id = uuid.uuid4(), placement.thread_id or uuid.uuid4()
        is_sender = parsed.sender is not None and parsed.sender.email in own
        new_thread = {
            "id": thread_id,
            "mailbox_id": destination.mailbox_id,
            "subject": strip_prefixes(parsed.subject),
            "last_activity_at": self.received_at,
        }
        # One statement writes the thread (when new), recipients, attachments and message;
        # the delivery constraint on the message makes a concurrent retry fail it whole.
        insert_together(
            insert_statement(Thread, [] if placement.thread_id else [new_thread]),
            insert_statement(MessageRecipient, _recipient_rows(message_id, parsed)),
            insert_statement(Attachment, self._attachment_rows(message_id)),
            insert_statement(
                Message, [self._message_row(message_id, thread_id, destination, is_sender)]
            ),
        )
        # In a batch, one statement each for all its messages (before its commit).
        batching.gather(_refresh_threads, thread_id)
        batching.gather(_index_for_search, message_id)  # searchable once committed
        if not is_sender:  # what the mailbox wrote itself is not news to its members
            batching.gather(_mark_unread, message_id)
        batching.gather(
            _record_contacts,
            (destination.mailbox_id, [(p.name, p.email) for p in people if p.email not in own]),
        )
        if is_delivery_report(parsed.headers):  # a bounce: matched to what it reports on later
            transaction.on_commit(partial(report_received, message_id), robust=True)
        return Outcome.STORED, message_id

    def _message_row(
        self,
        message_id: uuid.UUID,
        thread_id: uuid.UUID,
        destination: Destination,
        is_sender: bool,
    ) -> dict[str, object]:
        parsed = self.parsed
        return {
            "id": message_id,
            "thread_id": thread_id,
            "mailbox_id": destination.mailbox_id,
            "mime_id": parsed.mime_id,
            "in_reply_to": parsed.in_reply_to,
            "references": parsed.references,
            "subject": parsed.subject,
            "sender_name": parsed.sender.name if parsed.sender else "",
            "sender_email": parsed.sender.email if parsed.sender else "",
            "reply_to": parsed.reply_to_display,
            "sent_at": parsed.sent_at,
            "received_at": self.received_at,
            "headers": parsed.headers,
            "snippet": parsed.snippet,
            "text_body": parsed.text_body,
            "html_body": parsed.html_body,
            "size": len(self.raw),
            "raw_blob_id": self._blob("raw", self.raw).pk,
            "content_hash": self.content_hash,
            "is_sender": is_sender,
            "has_attachments": parsed.has_attachments,
            "is_malformed": parsed.is_malformed,
            "parse_errors": parsed.errors,
        }

    def _attachment_rows(self, message_id: uuid.UUID) -> list[dict[str, object]]:
        return [
            {
                "message_id": message_id,
                "blob_id": self._blob(position, part.data).pk,
                "filename": part.filename,
                "content_type": part.content_type,
                "size": len(part.data),
                "content_id": part.content_id,
                "is_inline": part.is_inline,
                "position": position,
            }
            for position, part in enumerate(self.parsed.files)
        ]

    def _blob(self, key: object, data: bytes) -> Blob:
        blob = self._blobs.get(key) or self._pending.get(key)
        if blob is None:
            blob = self._pending[key] = blob_put(data=data)
        return blob


def _refresh_threads(thread_ids: list[uuid.UUID]) -> None:
    threads_refresh(thread_ids=thread_ids, may_empty=False)


def _index_for_search(message_ids: list[uuid.UUID]) -> None:
    search_index_messages(message_ids=message_ids)


def _mark_unread(message_ids: list[uuid.UUID]) -> None:
    unread_mark_for_members(message_ids=message_ids)


def _record_contacts(uses: list[Use]) -> None:
    # Rows in (mailbox, address) order, so that concurrent deliveries lock them alike.
    contacts_record_uses(uses=uses)


def _recipient_rows(message_id: uuid.UUID, parsed: ParsedMessage) -> list[dict[str, object]]:
    kinds: tuple[tuple[str, list[Person]], ...] = (
        ("to", parsed.to),
        ("cc", parsed.cc),
        ("bcc", parsed.bcc),
    )
    return [
        {"message_id": message_id, "kind": kind, "name": p.name, "email": p.email, "position": i}
        for kind, people in kinds
        for i, p in enumerate(people)
    ]


def _constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)
