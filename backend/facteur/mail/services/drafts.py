"""Drafts: messages the mailbox is writing. Sending (composing MIME, DKIM, SMTP) is the
sending module's job; a draft keeps structured fields until then."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from facteur.blobs.models import Blob, Upload
from facteur.domains.models import Mailbox
from facteur.mail.models import Attachment, Message, MessageRecipient, RecipientKind, Thread
from facteur.mail.services.threads import threads_refresh
from facteur.mail.snippets import snippet_from_text
from facteur.search.services import search_index_messages, search_messages_deleted

MAX_RECIPIENTS = 500


@dataclass
class DraftFields:
    """What a client may set on a draft; None means "leave as it is"."""

    subject: str | None = None
    text_body: str | None = None
    html_body: str | None = None
    to: list[dict[str, str]] | None = None
    cc: list[dict[str, str]] | None = None
    bcc: list[dict[str, str]] | None = None
    attachment_blob_ids: list[str] | None = None


def _clean_people(people: list[dict[str, str]], kind: str) -> list[tuple[str, str]]:
    cleaned = []
    for person in people:
        email = (person.get("email") or "").strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({kind: [f"{email!r} is not a valid e-mail address."]}) from None
        cleaned.append(((person.get("name") or "").strip()[:300], email))
    return cleaned


def _blobs_usable_by(mailbox: Mailbox, blob_ids: list[str]) -> dict[str, tuple[Blob, str, str]]:
    """Blobs the mailbox may attach: its uploads, or attachments of its own messages."""
    usable: dict[str, tuple[Blob, str, str]] = {}
    for upload in Upload.objects.filter(mailbox=mailbox, blob_id__in=blob_ids).select_related(
        "blob"
    ):
        usable[str(upload.blob_id)] = (upload.blob, upload.filename, upload.content_type)
    missing = [b for b in blob_ids if b not in usable]
    if missing:
        for att in Attachment.objects.filter(
            blob_id__in=missing, message__mailbox=mailbox
        ).select_related("blob"):
            usable.setdefault(str(att.blob_id), (att.blob, att.filename, att.content_type))
    return usable


@transaction.atomic
def draft_create(
    *, mailbox: Mailbox, fields: DraftFields, reply_to: Message | None = None
) -> Message:
    """A new draft, in the replied message's thread when the mailbox owns it."""
    thread: Thread | None = None
    in_reply_to, references = "", []
    subject = fields.subject or ""
    if reply_to is not None:
        in_reply_to = reply_to.mime_id
        references = [*reply_to.references, reply_to.mime_id] if reply_to.mime_id else []
        if reply_to.mailbox_id == mailbox.pk:
            thread = reply_to.thread
        if fields.subject is None:
            subject = (
                reply_to.subject
                if reply_to.subject.lower().startswith("re:")
                else (f"Re: {reply_to.subject}" if reply_to.subject else "")
            )
    if thread is None:
        thread = Thread.objects.create(mailbox=mailbox, subject=subject)
    draft = Message(
        thread=thread,
        mailbox=mailbox,
        mime_id=f"{uuid.uuid4()}@{mailbox.domain.name}",
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        sender_name=mailbox.display_name,
        sender_email=mailbox.address,
        received_at=timezone.now(),
        is_draft=True,
        is_sender=True,
    )
    draft.save()
    return draft_update(draft=draft, fields=fields)


@transaction.atomic
def draft_update(*, draft: Message, fields: DraftFields) -> Message:
    if not draft.is_draft:
        raise ValidationError("Only drafts can be edited.", code="not_draft")
    if fields.subject is not None:
        draft.subject = fields.subject[:998]
    if fields.text_body is not None:
        draft.text_body = fields.text_body
    if fields.html_body is not None:
        draft.html_body = fields.html_body
    draft.snippet = snippet_from_text(draft.text_body) if draft.text_body else draft.snippet
    draft.received_at = timezone.now()
    kinds = {
        RecipientKind.TO: fields.to,
        RecipientKind.CC: fields.cc,
        RecipientKind.BCC: fields.bcc,
    }
    if any(v is not None for v in kinds.values()):
        current = {k: list(draft.recipients.filter(kind=k).values("name", "email")) for k in kinds}
        wanted = {k: (v if v is not None else current[k]) for k, v in kinds.items()}
        people = {k: _clean_people(v, k) for k, v in wanted.items()}
        if sum(len(v) for v in people.values()) > MAX_RECIPIENTS:
            raise ValidationError(f"A message has at most {MAX_RECIPIENTS} recipients.")
        draft.recipients.all().delete()
        MessageRecipient.objects.bulk_create(
            MessageRecipient(message=draft, kind=kind, name=name, email=email, position=i)
            for kind, persons in people.items()
            for i, (name, email) in enumerate(persons)
        )
    if fields.attachment_blob_ids is not None:
        wanted_ids = [str(b) for b in fields.attachment_blob_ids]
        usable = _blobs_usable_by(draft.mailbox, wanted_ids)
        unknown = [b for b in wanted_ids if b not in usable]
        if unknown:
            raise ValidationError({"attachments": [f"Unknown blob {b}." for b in unknown]})
        draft.attachments.all().delete()
        Attachment.objects.bulk_create(
            Attachment(
                message=draft,
                blob=usable[b][0],
                filename=usable[b][1],
                content_type=usable[b][2],
                size=usable[b][0].size,
                position=i,
            )
            for i, b in enumerate(wanted_ids)
        )
        draft.has_attachments = bool(wanted_ids)
    draft.save()
    threads_refresh(thread_ids=[draft.thread_id])
    search_index_messages(message_ids=[draft.pk])
    # A thread started by this draft is named after it.
    Thread.objects.filter(pk=draft.thread_id, message_count__lte=1).update(subject=draft.subject)
    return draft


@transaction.atomic
def draft_delete(*, draft: Message) -> None:
    if not draft.is_draft:
        raise ValidationError("Only drafts can be deleted this way.", code="not_draft")
    thread_id = draft.thread_id
    search_messages_deleted(message_ids=[draft.pk])
    draft.delete()
    threads_refresh(thread_ids=[thread_id])
