"""Reads on the mail store, always scoped to what a user may see.

A user sees a thread when they have an access to its owning mailbox, or to a
mailbox the thread is shared with. What they may do with it follows the
weaker of the two roles on the way: their mailbox role, and the share's role.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from facteur.api.pagination import after_cursor, encode_cursor
from facteur.domains.models import MailboxAccess, MailboxRole
from facteur.mail.models import (
    Attachment,
    Contact,
    Label,
    Message,
    MessageRecipient,
    Thread,
    ThreadAccess,
    ThreadRole,
    UnreadMark,
)
from facteur.users.models import User


@dataclass(frozen=True)
class Roles:
    """A user's role on each mailbox they have access to, read once per request."""

    by_mailbox: dict[str, str]

    @classmethod
    def of(cls, user: User) -> Roles:
        rows = MailboxAccess.objects.filter(user=user).values_list("mailbox_id", "role")
        return cls({str(mailbox_id): role for mailbox_id, role in rows})

    @property
    def mailbox_ids(self) -> list[str]:
        return list(self.by_mailbox)

    def on_mailbox(self, mailbox_id: object) -> str | None:
        return self.by_mailbox.get(str(mailbox_id))

    def can(self, mailbox_id: object, role: str) -> bool:
        have = self.on_mailbox(mailbox_id)
        return have is not None and MailboxRole.rank(have) >= MailboxRole.rank(role)


def _thread_role_from_mailbox_role(role: str) -> str:
    return ThreadRole.VIEWER if role == MailboxRole.VIEWER else ThreadRole.EDITOR


def thread_role(*, roles: Roles, thread: Thread) -> str | None:
    """viewer / editor / None for ``thread``, combining ownership and shares.

    Uses ``thread.my_shares`` when prefetched (see ``with_my_shares``).
    """
    best: str | None = None
    owner_role = roles.on_mailbox(thread.mailbox_id)
    if owner_role is not None:
        best = _thread_role_from_mailbox_role(owner_role)
        if best == ThreadRole.EDITOR:
            return best
    shares = getattr(thread, "my_shares", None)
    if shares is None:
        shares = ThreadAccess.objects.filter(thread=thread, mailbox_id__in=roles.mailbox_ids)
    for share in shares:
        via = _thread_role_from_mailbox_role(roles.on_mailbox(share.mailbox_id) or "viewer")
        effective = ThreadRole.EDITOR if ThreadRole.EDITOR == share.role == via else "viewer"
        if effective == ThreadRole.EDITOR:
            return effective
        best = best or effective
    return best


def threads_visible(*, roles: Roles) -> QuerySet[Thread]:
    ids = roles.mailbox_ids
    shared = ThreadAccess.objects.filter(mailbox_id__in=ids).values("thread_id")
    return Thread.objects.filter(Q(mailbox_id__in=ids) | Q(id__in=shared))


def messages_visible(*, roles: Roles) -> QuerySet[Message]:
    ids = roles.mailbox_ids
    shared = ThreadAccess.objects.filter(mailbox_id__in=ids).values("thread_id")
    return Message.objects.filter(Q(mailbox_id__in=ids) | Q(thread_id__in=shared))


def thread_ids_editable(*, roles: Roles, thread_ids: list[str]) -> set[str]:
    """Which of ``thread_ids`` the user may change (flags, labels, sharing)."""
    editor_mailboxes = [m for m in roles.mailbox_ids if roles.can(m, MailboxRole.EDITOR)]
    owned = Thread.objects.filter(id__in=thread_ids, mailbox_id__in=editor_mailboxes)
    shared = ThreadAccess.objects.filter(
        thread_id__in=thread_ids, mailbox_id__in=editor_mailboxes, role=ThreadRole.EDITOR
    )
    return {str(t) for t in owned.values_list("id", flat=True)} | {
        str(t) for t in shared.values_list("thread_id", flat=True)
    }


def with_my_shares(queryset: QuerySet[Thread], *, roles: Roles) -> QuerySet[Thread]:
    """Prefetch the shares through which the user sees each thread, and its labels."""
    return queryset.prefetch_related(
        Prefetch(
            "accesses",
            queryset=ThreadAccess.objects.filter(mailbox_id__in=roles.mailbox_ids),
            to_attr="my_shares",
        ),
        Prefetch(
            "labels",
            queryset=Label.objects.filter(mailbox_id__in=roles.mailbox_ids).order_by("name"),
            to_attr="my_labels",
        ),
    )


def with_unread_counts(queryset: QuerySet[Thread], *, user: User) -> QuerySet[Thread]:
    unread = (
        UnreadMark.objects.filter(user=user, thread=OuterRef("pk"))
        .order_by()
        .values("thread")
        .annotate(n=Count("*"))
        .values("n")
    )
    return queryset.annotate(unread_count=Coalesce(Subquery(unread), 0))


def labels_visible(*, roles: Roles) -> QuerySet[Label]:
    return Label.objects.filter(mailbox_id__in=roles.mailbox_ids)


def attachments_visible(*, roles: Roles) -> QuerySet[Attachment]:
    return Attachment.objects.filter(message__in=messages_visible(roles=roles))


def contacts_visible(*, roles: Roles) -> QuerySet[Contact]:
    return Contact.objects.filter(mailbox_id__in=roles.mailbox_ids)


def thread_page(
    *,
    roles: Roles,
    user: User,
    mailbox_ids: list[str],
    filters: Q,
    cursor: str | None,
    size: int,
) -> tuple[list[Thread], str | None]:
    """One page of the thread list, newest activity first, and the next page's cursor.

    First the sort keys, then the rows: one index scan per mailbox (PostgreSQL
    answers ``mailbox IN (...)`` by sorting every matching thread, a scan per
    mailbox stops after a page), one for the threads shared into them, merged
    here; only the page's threads are then loaded with their unread counts,
    shares and labels.
    """
    keys: set[tuple[object, object]] = set()
    for mailbox_id in mailbox_ids:
        owned = after_cursor(Thread.objects.filter(filters, mailbox_id=mailbox_id), cursor)
        keys.update(owned.values_list("last_activity_at", "id")[: size + 1])
    shared_ids = list(
        ThreadAccess.objects.filter(mailbox_id__in=mailbox_ids).values_list("thread_id", flat=True)
    )
    if shared_ids:
        shared = after_cursor(Thread.objects.filter(filters, id__in=shared_ids), cursor)
        keys.update(shared.values_list("last_activity_at", "id")[: size + 1])
    newest = sorted(keys, reverse=True)[: size + 1]
    next_cursor = encode_cursor(*newest[size - 1]) if len(newest) > size else None
    wanted = [pk for _, pk in newest[:size]]
    rows = with_my_shares(
        with_unread_counts(Thread.objects.filter(id__in=wanted), user=user), roles=roles
    ).defer("created_at", "updated_at")
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in wanted if pk in by_id], next_cursor


# Recipients in these states keep a message in the outbox: not handed over yet, or refused.
OUTBOX_STATUSES = ("queued", "retrying", "failed")
OUTBOX_LIMIT = 200


def outbox_messages(*, mailbox_ids: list[str]) -> QuerySet[Message]:
    """Mail these mailboxes sent that has not reached every recipient: waiting for its
    time (undo window, scheduled send), being handed over, retrying, or failed; newest
    first. Each message comes with its recipients and attachments."""
    pending = MessageRecipient.objects.filter(
        message_id=OuterRef("pk"), delivery_status__in=OUTBOX_STATUSES
    )
    return (
        Message.objects.filter(mailbox_id__in=mailbox_ids, is_sender=True, is_draft=False)
        .filter(Exists(pending))
        .defer("headers")
        .prefetch_related("recipients", "attachments")
        .order_by("-send_at", "-received_at", "-id")[:OUTBOX_LIMIT]
    )
