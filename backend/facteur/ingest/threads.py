"""Where an incoming message goes in its mailbox: already there, or which thread it joins.

Rules, in order (all within one mailbox; mail is never threaded across mailboxes):

1. the same Message-ID and the same bytes: a retried delivery, store nothing;
2. a message it answers (In-Reply-To, then References from the nearest back);
3. another copy of the same Message-ID (same message through another path);
4. a message that answers it and arrived first (its In-Reply-To is our id);
5. subject, only as a guarded fallback: the message says it is a reply (a
   reply prefix or unmatched references), its subject is not generic, and a
   thread with that subject was active within ``SUBJECT_WINDOW`` of it and
   shares a participant other than the mailbox itself.

A message that bridges two existing threads joins its parent's; threads are
never merged here.

Concurrent deliveries of related messages (a message and its reply, each seeing
no committed trace of the other) would start two threads: a transaction-scoped
advisory lock per Message-ID involved serialises them, so the second one finds
the first.
"""

from __future__ import annotations

import hashlib
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from facteur.ingest import batching
from facteur.ingest.parse import ParsedMessage
from facteur.ingest.rows import execute_bound
from facteur.ingest.subjects import has_reply_prefix, subject_core, subject_key

SUBJECT_WINDOW = timedelta(days=7)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


# Two index scans rather than one OR: the statement is prepared, and PostgreSQL's
# generic plan for an OR of parameters scanned every message of the mailbox
# (3.3 ms at 240 messages, growing with the mailbox; 0.1 ms this way, flat).
_RELATED_SQL = """
SELECT id, thread_id, mime_id, in_reply_to, content_hash FROM mail_message
WHERE mailbox_id = %(mailbox)s AND NOT is_draft AND mime_id = ANY(%(ids)s)
UNION ALL
SELECT id, thread_id, mime_id, in_reply_to, content_hash FROM mail_message
WHERE mailbox_id = %(mailbox)s AND NOT is_draft
  AND in_reply_to = %(own)s AND in_reply_to <> ''  -- the partial index's condition
LIMIT 500
"""
# Without a Message-ID only the bytes identify a retry, and nothing can answer it.
_RELATED_WITHOUT_ID_SQL = """
SELECT id, thread_id, mime_id, in_reply_to, content_hash FROM mail_message
WHERE mailbox_id = %(mailbox)s AND NOT is_draft AND mime_id = ANY(%(ids)s)
UNION ALL
SELECT id, thread_id, mime_id, in_reply_to, content_hash FROM mail_message
WHERE mailbox_id = %(mailbox)s AND NOT is_draft AND mime_id = '' AND content_hash = %(hash)s
LIMIT 500
"""


@dataclass(frozen=True)
class Placement:
    thread_id: uuid.UUID | None = None  # None: start a new thread
    duplicate_of: uuid.UUID | None = None  # the message already stored for these bytes


def place_message(
    *,
    mailbox_id: uuid.UUID,
    parsed: ParsedMessage,
    content_hash: str,
    participants: set[str],
    received_at: datetime,
) -> Placement:
    own = parsed.mime_id
    ancestors = [parsed.in_reply_to, *reversed(parsed.references)]
    ids = list(dict.fromkeys(i for i in [own, *ancestors] if i))
    _lock_conversation(mailbox_id, ids)
    # One round trip answers both "already stored?" and "which messages are related?".
    rows = execute_bound(
        _RELATED_SQL if own else _RELATED_WITHOUT_ID_SQL,
        {"mailbox": mailbox_id, "ids": ids, "own": own, "hash": content_hash},
    )
    by_id: dict[str, uuid.UUID] = {}
    answers: uuid.UUID | None = None
    for message_id, thread_id, mime_id, in_reply_to, row_hash in rows:
        if mime_id == own and row_hash == content_hash:
            return Placement(thread_id=thread_id, duplicate_of=message_id)
        by_id.setdefault(mime_id, thread_id)
        if own and in_reply_to == own:
            answers = answers or thread_id
    for ancestor in ancestors:
        if ancestor and ancestor != own and ancestor in by_id:
            return Placement(thread_id=by_id[ancestor])
    if own and own in by_id:
        return Placement(thread_id=by_id[own])
    if answers:
        return Placement(thread_id=answers)
    claims_reply = has_reply_prefix(parsed.subject) or any(ancestors)
    if claims_reply and participants:
        return Placement(
            thread_id=_thread_by_subject(
                mailbox_id=mailbox_id,
                subject=parsed.subject,
                participants=participants,
                received_at=received_at,
            )
        )
    return Placement()


def _lock_conversation(mailbox_id: uuid.UUID, mime_ids: list[str]) -> None:
    """Hold, until commit, one lock per Message-ID this message involves.

    A message and its reply share the parent's id, a reply and a reply to it
    share the reply's id. Locks are taken in a fixed (sorted) order, so two
    deliveries can wait for each other but never deadlock. (A batch of the
    delivery service holds several messages' locks, taken one message after the
    other; the mailbox locks it takes first keep two batches from meeting here.)
    """
    if not mime_ids:
        return
    keys = sorted({_lock_key(mailbox_id, mime_id) for mime_id in mime_ids[:50]})
    calls = ", ".join(["pg_advisory_xact_lock(%s)"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", keys)


def _lock_key(mailbox_id: uuid.UUID, mime_id: str) -> int:
    digest = hashlib.blake2b(f"{mailbox_id}\0{mime_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_SUBJECT_SQL = """
SELECT t.id, t.subject FROM mail_thread t
WHERE t.mailbox_id = %(mailbox)s
  AND t.last_activity_at BETWEEN %(since)s AND %(until)s
  -- lower() is ASCII-only under the C locale and Unicode-aware under others: try both.
  AND (strpos(lower(t.subject), %(core)s) > 0 OR strpos(lower(t.subject), %(core_ascii)s) > 0)
  AND EXISTS (
      SELECT 1 FROM mail_message m
      WHERE m.thread_id = t.id AND NOT m.is_draft AND (
          lower(m.sender_email) = ANY(%(people)s)
          OR EXISTS (SELECT 1 FROM mail_messagerecipient r
                     WHERE r.message_id = m.id AND lower(r.email) = ANY(%(people)s))))
ORDER BY t.last_activity_at DESC
LIMIT 20
"""


def _thread_by_subject(
    *, mailbox_id: uuid.UUID, subject: str, participants: set[str], received_at: datetime
) -> uuid.UUID | None:
    key = subject_key(subject)
    if not key:
        return None
    # In a batch, thread activity dates wait for its end: bring them up to date first.
    batching.flush()
    # Tags such as "[ext]" may sit in one subject and not the other: match on what follows.
    core = subject_core(subject)
    with connection.cursor() as cursor:
        cursor.execute(
            _SUBJECT_SQL,
            {
                "mailbox": mailbox_id,
                "since": received_at - SUBJECT_WINDOW,
                "until": received_at + SUBJECT_WINDOW,
                "core": core.lower(),
                "core_ascii": core.translate(_ASCII_LOWER),
                "people": sorted(participants),
            },
        )
        for thread_id, thread_subject in cursor.fetchall():
            if subject_key(thread_subject) == key:
                return thread_id
    return None
