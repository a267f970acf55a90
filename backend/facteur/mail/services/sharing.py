"""Sharing a thread with another mailbox."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from facteur.domains.models import Mailbox, MailboxAccess
from facteur.mail.models import Thread, ThreadAccess, ThreadRole, UnreadMark
from facteur.mail.services.unread import unread_mark_for_members
from facteur.search.services import search_threads_changed


@transaction.atomic
def thread_share(
    *, thread: Thread, mailbox: Mailbox, role: str, by_user_id: object
) -> ThreadAccess:
    if role not in ThreadRole.values:
        raise ValidationError(f"Unknown role {role!r}.", code="invalid")
    if mailbox.pk == thread.mailbox_id:
        raise ValidationError("A thread is not shared with its own mailbox.", code="invalid")
    access, created = ThreadAccess.objects.update_or_create(
        thread=thread, mailbox=mailbox, defaults={"role": role}
    )
    if created:
        # The new mailbox's members have not read any of it yet.
        message_ids = list(thread.messages.filter(is_draft=False).values_list("id", flat=True))
        unread_mark_for_members(message_ids=message_ids, except_user_ids=[by_user_id])
        search_threads_changed(thread_ids=[thread.pk])  # read state of the new members
    return access


def thread_share_update(*, access: ThreadAccess, role: str) -> ThreadAccess:
    if role not in ThreadRole.values:
        raise ValidationError(f"Unknown role {role!r}.", code="invalid")
    access.role = role
    access.save(update_fields=["role"])
    return access


@transaction.atomic
def thread_unshare(*, access: ThreadAccess) -> None:
    thread_id = access.thread_id
    access.delete()
    # Read state of people who can no longer see the thread goes with it.
    still_seeing = MailboxAccess.objects.filter(
        Q(mailbox_id=access.thread.mailbox_id)
        | Q(mailbox_id__in=ThreadAccess.objects.filter(thread_id=thread_id).values("mailbox_id"))
    ).values("user_id")
    UnreadMark.objects.filter(thread_id=thread_id).exclude(user_id__in=still_seeing).delete()
    search_threads_changed(thread_ids=[thread_id])
