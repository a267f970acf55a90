"""Per-user read state: a message is unread for a user while an UnreadMark row exists."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from facteur.mail.models import Message, UnreadMark
from facteur.search.services import search_messages_changed

_MARK_MEMBERS_SQL = """
INSERT INTO mail_unreadmark (user_id, message_id, thread_id, mailbox_id, is_counted)
SELECT DISTINCT a.user_id, m.id, m.thread_id, m.mailbox_id, NOT (m.is_trashed OR m.is_spam)
FROM mail_message m
-- The owning mailbox and those the thread is shared with, each joined on the
-- access index (an OR in the join condition would scan every access).
CROSS JOIN LATERAL (
    SELECT m.mailbox_id AS mailbox_id
    UNION
    SELECT ta.mailbox_id FROM mail_threadaccess ta WHERE ta.thread_id = m.thread_id
) AS boxes
JOIN domains_mailboxaccess a ON a.mailbox_id = boxes.mailbox_id
WHERE m.id = ANY(%(ids)s) AND a.user_id <> ALL(%(except)s)
ON CONFLICT (user_id, message_id) DO NOTHING
"""


def unread_mark_for_members(
    *, message_ids: Iterable[object], except_user_ids: Iterable[object] = ()
) -> None:
    """Make new messages unread for everyone who can see them (owner mailbox and shares)."""
    ids = [str(i) for i in message_ids]
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                _MARK_MEMBERS_SQL,
                {"ids": ids, "except": [str(u) for u in except_user_ids if u is not None]},
            )


def messages_mark_read(*, user_id: object, message_ids: Iterable[object]) -> int:
    ids = list(message_ids)
    deleted, _ = UnreadMark.objects.filter(user_id=user_id, message_id__in=ids).delete()
    search_messages_changed(message_ids=ids)
    return deleted


def messages_mark_unread(*, user_id: object, message_ids: Iterable[object]) -> int:
    rows = [
        UnreadMark(
            user_id=user_id,
            message_id=m.id,
            thread_id=m.thread_id,
            mailbox_id=m.mailbox_id,
            is_counted=not (m.is_trashed or m.is_spam),
        )
        for m in Message.objects.filter(id__in=list(message_ids)).only(
            "id", "thread_id", "mailbox_id", "is_trashed", "is_spam"
        )
    ]
    created = UnreadMark.objects.bulk_create(rows, ignore_conflicts=True)
    search_messages_changed(message_ids=[r.message_id for r in rows])
    return len(created)


_RECOUNT_SQL = """
UPDATE mail_unreadmark u SET is_counted = NOT (m.is_trashed OR m.is_spam)
FROM mail_message m
WHERE u.message_id = m.id AND m.id = ANY(%(ids)s)
  AND u.is_counted IS DISTINCT FROM NOT (m.is_trashed OR m.is_spam)
"""


def unread_marks_recount(*, message_ids: Iterable[object]) -> None:
    """Follow a change of trash or spam flags on the messages' unread marks."""
    ids = [str(i) for i in message_ids]
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(_RECOUNT_SQL, {"ids": ids})
