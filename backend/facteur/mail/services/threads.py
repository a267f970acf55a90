"""Thread counters and summaries, recomputed from the thread's messages after every change."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from facteur.mail.models import Thread

_REFRESH_SQL = """
WITH agg AS (
    SELECT m.thread_id,
        count(*) AS message_count,
        count(*) FILTER (WHERE NOT m.is_sender AND NOT m.is_draft AND NOT m.is_trashed
                         AND NOT m.is_spam AND NOT m.is_archived) AS inbox_count,
        count(*) FILTER (WHERE m.is_draft AND NOT m.is_trashed) AS draft_count,
        count(*) FILTER (WHERE m.is_sender AND NOT m.is_draft AND NOT m.is_trashed) AS sent_count,
        count(*) FILTER (WHERE m.is_starred AND NOT m.is_trashed) AS starred_count,
        count(*) FILTER (WHERE m.is_archived AND NOT m.is_trashed AND NOT m.is_spam)
            AS archived_count,
        count(*) FILTER (WHERE m.is_trashed) AS trashed_count,
        count(*) FILTER (WHERE m.is_spam AND NOT m.is_trashed) AS spam_count,
        count(*) FILTER (WHERE NOT m.is_trashed AND NOT m.is_spam) AS all_count,
        count(*) FILTER (WHERE m.has_attachments) AS attachment_count,
        max(m.received_at) AS last_activity_at,
        (array_agg(m.snippet ORDER BY m.received_at DESC))[1] AS snippet
    FROM mail_message m
    WHERE m.thread_id = ANY(%(ids)s)
    GROUP BY m.thread_id
)
UPDATE mail_thread t SET
    message_count = agg.message_count,
    inbox_count = agg.inbox_count,
    draft_count = agg.draft_count,
    sent_count = agg.sent_count,
    starred_count = agg.starred_count,
    archived_count = agg.archived_count,
    trashed_count = agg.trashed_count,
    spam_count = agg.spam_count,
    all_count = agg.all_count,
    attachment_count = agg.attachment_count,
    last_activity_at = agg.last_activity_at,
    snippet = agg.snippet,
    sender_names = (
        SELECT coalesce(jsonb_agg(s.name ORDER BY s.last_at), '[]'::jsonb) FROM (
            SELECT coalesce(nullif(m2.sender_name, ''), m2.sender_email) AS name,
                   max(m2.received_at) AS last_at
            FROM mail_message m2
            WHERE m2.thread_id = t.id AND NOT m2.is_draft
            GROUP BY 1 ORDER BY 2 DESC LIMIT 3
        ) s
    ),
    updated_at = now()
FROM agg
WHERE t.id = agg.thread_id
"""

# A thread whose last message went away goes too: found here, deleted through the ORM so
# that its labels and shares go with it (the database's foreign keys do not cascade).
_EMPTY_SQL = """
SELECT t.id FROM mail_thread t
WHERE t.id = ANY(%(ids)s)
  AND NOT EXISTS (SELECT 1 FROM mail_message m WHERE m.thread_id = t.id)
"""


def threads_refresh(*, thread_ids: Iterable[object], may_empty: bool = True) -> None:
    """Recompute counters, activity date, snippet and senders of the given threads.

    Called in the same transaction as every change to their messages, so the
    thread list never disagrees with the messages (deleting a message included).
    ``may_empty=False`` skips looking for emptied threads when messages were only added.
    """
    ids = list({str(thread_id) for thread_id in thread_ids})
    if not ids:
        return
    emptied: list[object] = []
    with connection.cursor() as cursor:
        cursor.execute(_REFRESH_SQL, {"ids": ids})
        if may_empty:
            cursor.execute(_EMPTY_SQL, {"ids": ids})
            emptied = [row[0] for row in cursor.fetchall()]
    if emptied:
        Thread.objects.filter(id__in=emptied).delete()
