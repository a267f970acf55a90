"""What deliveries left in the database, checked for anything half-stored.

A delivery commits a mailbox's copy whole (thread, message, recipients, attachments,
blobs) or not at all; these checks find what a broken commit would leave behind.
"""

from __future__ import annotations

from django.db import connection

from facteur.mail.models import Message

# Each query counts rows that must not exist; the name says what they would be.
_HALF_STORED = {
    "message without its raw blob": """
        SELECT count(*) FROM mail_message m LEFT JOIN blobs_blob b ON b.id = m.raw_blob_id
        WHERE NOT m.is_draft AND (b.id IS NULL OR b.size <> m.size)""",
    "attachment without its blob": """
        SELECT count(*) FROM mail_attachment a LEFT JOIN blobs_blob b ON b.id = a.blob_id
        WHERE b.id IS NULL OR b.size <> a.size""",
    "thread without messages": """
        SELECT count(*) FROM mail_thread t
        WHERE NOT EXISTS (SELECT 1 FROM mail_message m WHERE m.thread_id = t.id)""",
    "thread whose message_count is wrong": """
        SELECT count(*) FROM mail_thread t
        WHERE t.message_count <> (SELECT count(*) FROM mail_message m WHERE m.thread_id = t.id)""",
    "blob nothing refers to": """
        SELECT count(*) FROM blobs_blob b
        WHERE NOT EXISTS (SELECT 1 FROM mail_message m WHERE m.raw_blob_id = b.id)
          AND NOT EXISTS (SELECT 1 FROM mail_attachment a WHERE a.blob_id = b.id)
          AND NOT EXISTS (SELECT 1 FROM blobs_upload u WHERE u.blob_id = b.id)""",
}


def half_stored() -> dict[str, int]:
    """Counts of half-stored rows by kind, zeros left out: ``{}`` when all is whole."""
    found = {}
    with connection.cursor() as cursor:
        for name, sql in _HALF_STORED.items():
            cursor.execute(sql)
            (count,) = cursor.fetchone()
            if count:
                found[name] = count
    return found


def assert_nothing_half_stored() -> None:
    assert half_stored() == {}


def copies(mailbox: object, subject: str) -> int:
    """How many messages with ``subject`` the mailbox holds."""
    return Message.objects.filter(mailbox=mailbox, subject=subject).count()
