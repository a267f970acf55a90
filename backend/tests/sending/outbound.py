"""Outbound messages for the bounce, retry and sweeper tests, made through the real services."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from facteur.domains.models import Mailbox
from facteur.mail.models import Message
from facteur.mail.services.drafts import DraftFields, draft_create
from facteur.sending import services


def draft(box: Mailbox, *, subject: str = "Devis", mime_id: str = "", **people) -> Message:
    message = draft_create(
        mailbox=box,
        fields=DraftFields(subject=subject, text_body="Bonjour,\nle devis.\n", **people),
    )
    if mime_id:
        Message.objects.filter(pk=message.pk).update(mime_id=mime_id)
        message.refresh_from_db()
    return message


def queued_and_due(message: Message, capture_on_commit) -> Message:
    """Send ``message`` (a draft) and make it due now; the task is not queued."""
    with capture_on_commit(execute=False):
        message = services.message_send_request(draft=message)
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    message.refresh_from_db()
    return message


def statuses(message: Message) -> dict[str, str]:
    return dict(message.recipients.values_list("email", "delivery_status"))
