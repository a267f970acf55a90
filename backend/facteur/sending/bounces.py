"""Bounce notices: the delivery status notification (RFC 3464) put into the sender's
mailbox when a send run turns recipients ``failed``.

One notice per run, for the recipients that failed in it: ``multipart/report;
report-type=delivery-status`` with a text part in plain words, a
``message/delivery-status`` part (per-message fields, then one block per
recipient) and a ``text/rfc822-headers`` part with the original's headers.
It comes from ``Mail Delivery System <MAILER-DAEMON@<the sender's domain>>``,
answers the sent message (In-Reply-To, References) so that it joins its thread,
and is stored through ``ingest_message`` like any received mail (unread, counted).

Its Message-ID is derived from the sent message and the failed addresses, so a
re-run that reaches this point again finds it and makes no second notice.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.message import Message as MimeMessage
from email.utils import format_datetime

from django.db import transaction
from django.utils import timezone

from facteur.blobs.services import blob_read
from facteur.ingest.services import ingest_message
from facteur.mail.models import Message, MessageRecipient
from facteur.sending.compose import POLICY
from facteur.sending.smtp_transaction import helo_name

log = logging.getLogger(__name__)

_ENHANCED = re.compile(r"^\s*\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b")
_NOT_ASCII = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Failure:
    """One failed recipient as the notice reports it."""

    email: str
    reply: str  # the last reply, e.g. "550 5.1.1 No such user"
    expired: bool  # retries exhausted (the last reply was a 4xx)

    @property
    def status(self) -> str:
        """The RFC 3463 status code: the reply's enhanced code, else derived from it."""
        if self.expired:
            return "5.4.7"  # delivery time expired
        found = _ENHANCED.match(self.reply)
        if found and found.group(1).startswith("5"):
            return found.group(1)
        return "5.0.0"


def failure_of(recipient: MessageRecipient) -> Failure:
    reply = recipient.delivery_message or "no reply"
    return Failure(email=recipient.email, reply=reply, expired=reply[:1] == "4")


def notice_mime_id(*, message: Message, emails: list[str]) -> str:
    """The notice's Message-ID (no brackets): one per sent message and set of addresses."""
    seed = "\n".join([message.mime_id, *sorted({e.lower() for e in emails})])
    digest = hashlib.sha256(seed.encode()).hexdigest()[:40]
    return f"{digest}.dsn@{message.mailbox.domain.name}"


def reporting_host() -> str:
    """The name the notice gives for the reporting MTA: the one we use in EHLO."""
    return helo_name()


def bounce_notice_deliver(*, message: Message, recipients: list[MessageRecipient]) -> bool:
    """Put one notice for ``recipients`` (failed) into the sender's mailbox.

    Returns whether a notice was stored. Never raises: the statuses that called
    for it are what matters, a lost notice is only logged.
    """
    if not recipients:
        return False
    try:
        with transaction.atomic():
            return _deliver(message, [failure_of(r) for r in recipients])
    except Exception:
        log.exception("the bounce notice of message %s could not be stored", message.pk)
        return False


def _deliver(message: Message, failures: list[Failure]) -> bool:
    mailbox = message.mailbox
    mime_id = notice_mime_id(message=message, emails=[f.email for f in failures])
    if Message.objects.filter(mailbox_id=mailbox.pk, mime_id=mime_id).exists():
        return False  # this run's notice is already there
    raw = compose_notice(message=message, failures=failures, mime_id=mime_id)
    result = ingest_message(raw=raw, recipients=[mailbox.address])
    return any(r.message_id is not None for r in result.recipients)


def _original_headers(message: Message) -> str:
    if message.raw_blob_id is None:
        return f"Message-ID: <{message.mime_id}>\r\n"
    raw = blob_read(blob=message.raw_blob)
    end = raw.find(b"\r\n\r\n")
    block = raw[: end + 2] if end >= 0 else raw
    # compose_message writes a pure-ASCII header block; be safe with anything else.
    return block.decode("ascii", "replace").replace("\ufffd", "?")


def _ascii(text: str) -> str:
    return _NOT_ASCII.sub("?", " ".join(text.split()))


def _explain(failures: list[Failure]) -> str:
    lines = []
    for f in failures:
        if f.expired:
            lines.append(
                f"<{f.email}>: the receiving side kept answering with a temporary error,\n"
                "and delivery was given up after trying for about two days. Its last answer:"
            )
        else:
            lines.append(
                f"<{f.email}>: the receiving mail server refused the message. It answered:"
            )
        lines.append(f"    {' '.join(f.reply.split())}")
        lines.append("")
    return "\n".join(lines)


def _text(message: Message, failures: list[Failure], host: str) -> str:
    subject = message.subject or "(no subject)"
    sent = message.sent_at or message.send_at or timezone.now()
    count = "this recipient" if len(failures) == 1 else f"these {len(failures)} recipients"
    return (
        f"This is an automatic message from the mail system at {host}.\n\n"
        f'Your message "{subject}", sent {format_datetime(sent.astimezone(UTC))},\n'
        f"could not be delivered to {count}:\n\n"
        f"{_explain(failures)}\n"
        "Nothing more will be tried for these addresses. Check them for typing mistakes,\n"
        "or reach the people another way. Other recipients of the message are not\n"
        "concerned by this notice.\n\n"
        "The technical report and the headers of your message follow.\n"
    )


def _block(fields: list[tuple[str, str]]) -> MimeMessage:
    block = MimeMessage()
    for name, value in fields:
        block[name] = value
    return block


def compose_notice(*, message: Message, failures: list[Failure], mime_id: str) -> bytes:
    """The notice's bytes (CRLF line endings)."""
    mailbox = message.mailbox
    domain = mailbox.domain.name
    host = reporting_host()
    now = timezone.now()
    notice = EmailMessage(policy=POLICY)
    notice["From"] = Address("Mail Delivery System", "MAILER-DAEMON", domain)
    notice["To"] = Address(mailbox.display_name or "", *mailbox.address.rsplit("@", 1))
    notice["Subject"] = f"Delivery failed: {message.subject or '(no subject)'}"
    notice["Date"] = format_datetime(now.astimezone(UTC))
    notice["Message-ID"] = f"<{mime_id}>"
    notice["In-Reply-To"] = f"<{message.mime_id}>"
    notice["References"] = " ".join(f"<{r}>" for r in [*message.references, message.mime_id] if r)
    notice["Auto-Submitted"] = "auto-replied"
    notice["MIME-Version"] = "1.0"

    text = MIMEPart(policy=POLICY)
    text.set_content(_text(message, failures, host))

    status = MimeMessage()
    status["Content-Type"] = "message/delivery-status"
    arrival = message.sent_at or message.send_at or now
    blocks = [
        _block(
            [
                ("Reporting-MTA", f"dns; {host}"),
                ("Arrival-Date", format_datetime(arrival.astimezone(UTC))),
            ]
        )
    ]
    for f in failures:
        blocks.append(
            _block(
                [
                    ("Final-Recipient", f"rfc822; {f.email}"),
                    ("Action", "failed"),
                    ("Status", f.status),
                    ("Diagnostic-Code", f"smtp; {_ascii(f.reply)[:900]}"),
                ]
            )
        )
    status.set_payload(blocks)

    headers = MIMEPart(policy=POLICY)
    headers.set_content(_original_headers(message), subtype="rfc822-headers", charset="us-ascii")

    notice.add_header("Content-Type", "multipart/report", **{"report-type": "delivery-status"})
    notice.set_payload([text, status, headers])
    digest = hashlib.sha256(mime_id.encode()).hexdigest()[:32]
    notice.set_boundary(f"=_facteur_report_{digest}")
    return notice.as_bytes(policy=POLICY)
