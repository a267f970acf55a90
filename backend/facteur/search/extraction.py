"""What of a message is searchable: one definition for every backend.

Four fields, from the most to the least telling (PostgreSQL weights A to D):

- ``subject``;
- ``participants``: sender, To, Cc and Bcc names and addresses, each address also
  cut at ``@ . - _ +`` so that ``from:martin`` finds alice.martin@example.com;
- ``body``: the text body (the HTML turned into text when a message has only
  HTML), its first ``BODY_LIMIT`` characters;
- ``attachments``: file names, also cut at ``. - _`` (``filename:pdf``).

Angle brackets are read as spaces: PostgreSQL's text parser takes ``<word>`` for
an HTML tag and skips it, which would hide "<payload>" or "<alice@example.com>".

``SOURCE_SQL`` reads them for a list of message ids in one statement; the
PostgreSQL backend turns its rows into a tsvector in the same statement, the
OpenSearch backend into JSON documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

BODY_LIMIT = 100_000  # characters: enough for any letter, bounded for a pasted log
SEPARATORS = "@.-_+"  # cut addresses and file names into words at these

# PostgreSQL expression: an address or file name, then the same with separators as spaces.
CUT = "concat_ws(' ', {0}, translate({0}, '@.-_+', '     '))"

SOURCE_SQL = f"""
SELECT m.id AS message_id, m.mailbox_id, m.received_at,
    translate(m.subject, '<>', '  ') AS subject,
    concat_ws(' ', m.sender_name, {CUT.format("m.sender_email")},
        (SELECT string_agg(concat_ws(' ', r.name, {CUT.format("r.email")}), ' ')
         FROM mail_messagerecipient r WHERE r.message_id = m.id)) AS participants,
    translate(left(CASE WHEN m.text_body <> '' THEN m.text_body
         ELSE regexp_replace(left(m.html_body, {BODY_LIMIT * 4}), '<[^>]*>', ' ', 'g')
         END, {BODY_LIMIT}), '<>', '  ') AS body,
    coalesce((SELECT string_agg({CUT.format("a.filename")}, ' ')
              FROM mail_attachment a WHERE a.message_id = m.id), '') AS attachments
FROM mail_message m
WHERE m.id = ANY(%(ids)s)
"""  # noqa: S608 - constants only


@dataclass(frozen=True)
class Extract:
    message_id: object
    mailbox_id: object
    received_at: datetime
    subject: str
    participants: str
    body: str
    attachments: str


def extracts(message_ids: Sequence[object]) -> list[Extract]:
    """The searchable text of these messages (for backends that index outside PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(SOURCE_SQL, {"ids": [str(i) for i in message_ids]})
        return [Extract(*row) for row in cursor.fetchall()]


def all_message_ids(batch: int) -> Iterator[list[str]]:
    """Every message id, ``batch`` at a time, by key (no offset scans): what a rebuild of
    either backend's index reads. Mail arriving meanwhile comes in a later batch when its
    id sorts after the last one read, else is indexed by its own transaction."""
    last = "00000000-0000-0000-0000-000000000000"
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id::text FROM mail_message WHERE id > %s ORDER BY id LIMIT %s",
                [last, batch],
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return
        yield ids
        last = ids[-1]


def message_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM mail_message")
        return cursor.fetchone()[0]
