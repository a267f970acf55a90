"""Builders for test data: real rows through the real services, nothing mocked.

``message_create`` stores a message directly (not through ingest) so that API
tests control every field; ingest has its own tests.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from facteur.blobs.services import blob_put
from facteur.domains import services as domain_services
from facteur.domains.models import Mailbox, MailDomain
from facteur.mail.models import Attachment, Message, MessageRecipient, Thread
from facteur.mail.services.threads import threads_refresh
from facteur.mail.services.unread import unread_mark_for_members
from facteur.search.services import search_index_messages
from facteur.users.models import User
from facteur.users.services import user_create

_seq = itertools.count(1)


def user(email: str | None = None, password: str = "correct-horse-battery") -> User:
    return user_create(email=email or f"person{next(_seq)}@people.test", password=password)


def domain(name: str | None = None) -> MailDomain:
    return domain_services.domain_create(name=name or f"d{next(_seq)}.test")


def mailbox(dom: MailDomain, local: str | None = None, *, shared: bool = False) -> Mailbox:
    return domain_services.mailbox_create(
        domain=dom, local_part=local or f"box{next(_seq)}", kind="shared" if shared else "personal"
    )


def message_create(
    box: Mailbox,
    *,
    thread: Thread | None = None,
    subject: str = "Hello",
    sender: tuple[str, str] = ("Alice Martin", "alice@elsewhere.test"),
    to: list[str] | None = None,
    text: str = "Hi there, this is a test message.",
    html: str = "",
    received_at: datetime | None = None,
    attachment: bytes | None = None,
    **flags: bool,
) -> Message:
    if thread is None:
        thread = Thread.objects.create(mailbox=box, subject=subject)
    raw = (
        f"From: {sender[0]} <{sender[1]}>\r\nTo: {box.address}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4()}@elsewhere.test>\r\n\r\n{text}\r\n"
    ).encode()
    blob = blob_put(data=raw)
    msg = Message.objects.create(
        thread=thread,
        mailbox=box,
        mime_id=f"{uuid.uuid4()}@elsewhere.test",
        subject=subject,
        sender_name=sender[0],
        sender_email=sender[1],
        received_at=received_at or timezone.now() - timedelta(seconds=next(_seq)),
        snippet=text[:200],
        text_body=text,
        html_body=html,
        size=len(raw),
        raw_blob=blob,
        content_hash=blob.sha256,
        has_attachments=attachment is not None,
        **flags,
    )
    for i, address in enumerate(to or [box.address]):
        MessageRecipient.objects.create(message=msg, kind="to", email=address, position=i)
    if attachment is not None:
        att_blob = blob_put(data=attachment)
        Attachment.objects.create(
            message=msg,
            blob=att_blob,
            filename="report.pdf",
            content_type="application/pdf",
            size=len(attachment),
        )
    threads_refresh(thread_ids=[thread.pk])
    search_index_messages(message_ids=[msg.pk])
    if not msg.is_sender and not msg.is_draft:
        unread_mark_for_members(message_ids=[msg.pk])
    return msg
