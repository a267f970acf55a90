"""Flags on messages: per mailbox (starred, archived, trashed, spam) and per user (read)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from facteur.mail.models import Message
from facteur.mail.services.threads import threads_refresh
from facteur.mail.services.unread import (
    messages_mark_read,
    messages_mark_unread,
    unread_marks_recount,
)
from facteur.search.services import search_messages_changed, search_messages_deleted

MAILBOX_FLAGS = {
    "starred": "is_starred",
    "archived": "is_archived",
    "trashed": "is_trashed",
    "spam": "is_spam",
}
USER_FLAGS = {"unread"}
FLAGS = sorted({*MAILBOX_FLAGS, *USER_FLAGS})


@transaction.atomic
def messages_set_flag(
    *, user_id: object, message_ids: Iterable[object], flag: str, value: bool
) -> int:
    """Set ``flag`` on the messages; the caller has checked the user may."""
    ids = list(message_ids)
    if flag == "unread":
        if value:
            return messages_mark_unread(user_id=user_id, message_ids=ids)
        return messages_mark_read(user_id=user_id, message_ids=ids)
    field = MAILBOX_FLAGS[flag]
    changes: dict[str, object] = {field: value}
    if flag == "trashed":
        changes["trashed_at"] = timezone.now() if value else None
    if flag == "archived" and value:
        # Archiving takes a message out of the spam folder, as moving it would.
        changes["is_spam"] = False
    if flag == "spam" and value:
        changes["is_archived"] = False
    messages = Message.objects.filter(id__in=ids).exclude(**{field: value})
    changed = list(messages.values_list("id", "thread_id"))
    updated = Message.objects.filter(id__in=[m for m, _ in changed]).update(
        **changes, updated_at=timezone.now()
    )
    threads_refresh(thread_ids={t for _, t in changed})
    search_messages_changed(message_ids=[m for m, _ in changed])
    if flag in {"trashed", "spam"}:
        unread_marks_recount(message_ids=[m for m, _ in changed])
    return updated


@transaction.atomic
def messages_delete(*, message_ids: Iterable[object]) -> int:
    """Delete for good (blobs are collected later by blobs_collect_garbage)."""
    ids = list(message_ids)
    messages = Message.objects.filter(id__in=ids)
    search_messages_deleted(message_ids=ids)
    thread_ids = list(messages.values_list("thread_id", flat=True).distinct())
    _, per_model = messages.delete()
    threads_refresh(thread_ids=thread_ids)
    return per_model.get("mail.Message", 0)
