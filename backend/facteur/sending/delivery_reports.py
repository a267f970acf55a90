"""Delivery reports that arrive by mail (asynchronous bounces, RFC 3464).

A relay accepts a message (its recipients are ``sent``), then fails to deliver
it: MTA-out sends a delivery status notification to the sender's address, and
it reaches the sender's mailbox through the normal inbound path. Ingest only
notices the content type (``is_delivery_report``, on the already-parsed headers)
and, after the copy is committed, queues a task (``report_received``) that reads
the report here and updates the sent message it is about:

- matched by the Message-ID in its ``text/rfc822-headers`` or ``message/rfc822``
  part, **only among the sent messages of the mailbox the report was delivered
  to**, and by address (Final-Recipient, else Original-Recipient);
- ``Action: failed`` -> the recipient is ``failed``, the Diagnostic-Code (the
  remote server's reply) its ``delivery_message``; ``delayed`` -> status kept,
  the message noted; ``delivered``, ``relayed``, ``expanded`` -> nothing.

Only recipients the relay accepted (``sent``) change: a report cannot undo a
local delivery, nor touch a recipient being retried or already failed. Anything
unreadable, forged or unmatched changes nothing, and reading never raises.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import Message as MimeMessage
from email.parser import BytesHeaderParser

from django.db import transaction

from facteur.blobs.services import blob_read
from facteur.ingest.headers import message_ids
from facteur.mail.models import DeliveryStatus, Message

log = logging.getLogger(__name__)

_REPORT_TYPE = re.compile(
    r"^\s*multipart/report\s*;.*\breport-type\s*=\s*\"?delivery-status\b", re.IGNORECASE | re.DOTALL
)
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
# Lengths kept of what a report says (a hostile report may say a lot).
DIAGNOSTIC_LIMIT = 2000
MAX_RECIPIENTS = 1000


def is_delivery_report(headers: list[list[str]]) -> bool:
    """Whether a parsed message's headers say it is a delivery status notification."""
    for name, value in headers:
        if name.lower() == "content-type":
            return bool(_REPORT_TYPE.match(value))
    return False


def report_received(message_id: object) -> None:
    """Queue the reading of the report stored as ``message_id`` (called after commit)."""
    from facteur.sending.tasks import delivery_report_apply

    delivery_report_apply.delay(str(message_id))


@dataclass(frozen=True)
class RecipientReport:
    addresses: tuple[str, ...]  # Final-Recipient, then Original-Recipient (lower case)
    action: str  # failed, delayed, delivered, relayed, expanded (lower case)
    status: str
    diagnostic: str


@dataclass(frozen=True)
class DeliveryReport:
    original_mime_id: str  # the reported message's Message-ID, without brackets
    recipients: list[RecipientReport]


def read_report(raw: bytes) -> DeliveryReport | None:
    """The report in ``raw``, or None when it is not a readable DSN. Never raises."""
    try:
        return _read(raw)
    except RecursionError:  # hostile nesting: expected, not worth a traceback
        log.warning("a delivery report nested too deep was ignored")
    except Exception:  # hostile bytes must not break the task; nothing is changed
        log.warning("an unreadable delivery report was ignored", exc_info=True)
    return None


def _read(raw: bytes) -> DeliveryReport | None:
    root = email.message_from_bytes(raw, policy=policy.compat32)
    if root.get_content_type() != "multipart/report":
        return None
    if str(root.get_param("report-type") or "").lower() != "delivery-status":
        return None
    parts = root.get_payload()
    if not isinstance(parts, list):
        return None
    status = next((p for p in parts if p.get_content_type() == "message/delivery-status"), None)
    original = _original_mime_id(parts)
    if status is None or not original:
        return None
    recipients = []
    for block in _blocks(status)[:MAX_RECIPIENTS]:
        entry = _recipient(block)
        if entry is not None:
            recipients.append(entry)
    return DeliveryReport(original_mime_id=original, recipients=recipients)


def _original_mime_id(parts: list[MimeMessage]) -> str:
    for part in parts:
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
        elif kind == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            headers = BytesHeaderParser(policy=policy.compat32).parsebytes(data) if data else None
        else:
            continue
        ids = message_ids(str(headers.get("Message-ID", ""))) if headers is not None else []
        if ids:
            return ids[0].strip()[:998]
    return ""


def _blocks(part: MimeMessage) -> list[MimeMessage]:
    """The field blocks of a message/delivery-status part (the parser splits them)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if isinstance(b, MimeMessage)]
    # A parser that kept it as text (e.g. a transfer encoding): split it ourselves.
    data = part.get_payload(decode=True) or b""
    chunks = re.split(rb"\r?\n[ \t]*\r?\n", data)
    parser = BytesHeaderParser(policy=policy.compat32)
    return [parser.parsebytes(chunk.strip() + b"\n") for chunk in chunks if chunk.strip()]


def _field(block: MimeMessage, name: str) -> str:
    return " ".join(str(block.get(name, "")).split())


def _typed_value(value: str) -> str:
    """``rfc822; alice@example.org`` -> ``alice@example.org`` (the part after the type)."""
    return value.partition(";")[2].strip() if ";" in value else value.strip()


def _address(value: str) -> str | None:
    address = _typed_value(value).strip("<>").lower()
    return address if _ADDRESS.match(address) and len(address) <= 320 else None


def _recipient(block: MimeMessage) -> RecipientReport | None:
    action = _field(block, "Action").split(" ")[0].lower()
    addresses = tuple(
        a
        for a in (
            _address(_field(block, "Final-Recipient")),
            _address(_field(block, "Original-Recipient")),
        )
        if a
    )
    if not action or not addresses:
        return None  # the per-message block, or a block that names nobody
    status = _field(block, "Status")[:32]
    diagnostic = _typed_value(_field(block, "Diagnostic-Code"))
    if not diagnostic:
        diagnostic = f"Status {status}" if status else f"Action {action}"
    return RecipientReport(
        addresses=addresses,
        action=action,
        status=status,
        diagnostic=diagnostic[:DIAGNOSTIC_LIMIT],
    )


def delivery_report_apply(*, message_id: object) -> str:
    """Apply the report stored as message ``message_id``; what happened, in a word or two."""
    stored = Message.objects.filter(pk=message_id).only("id", "mailbox_id", "raw_blob").first()
    if stored is None or stored.raw_blob_id is None:
        return "gone"
    report = read_report(blob_read(blob=stored.raw_blob))
    if report is None:
        return "unreadable"
    with transaction.atomic():
        # Only a message this mailbox sent itself through Facteur (send_at set).
        sent = (
            Message.objects.select_for_update()
            .filter(
                mailbox_id=stored.mailbox_id,
                mime_id=report.original_mime_id,
                is_sender=True,
                is_draft=False,
                send_at__isnull=False,
            )
            .first()
        )
        if sent is None:
            return "no match"
        rows = list(sent.recipients.all())
        changed = 0
        for entry in report.recipients:
            for row in rows:
                if row.email.lower() not in entry.addresses:
                    continue
                if row.delivery_status != DeliveryStatus.SENT:
                    continue  # only what the relay accepted can bounce later
                if entry.action == "failed":
                    row.delivery_status = DeliveryStatus.FAILED
                    row.delivery_message = entry.diagnostic
                elif entry.action == "delayed":
                    row.delivery_message = f"Delayed: {entry.diagnostic}"[:DIAGNOSTIC_LIMIT]
                else:
                    continue
                row.save(update_fields=["delivery_status", "delivery_message"])
                changed += 1
    if changed:
        log.info("delivery report %s updated %d recipient(s)", stored.pk, changed)
    return f"{changed} updated"
