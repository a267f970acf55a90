"""Contacts: every address a mailbox exchanges mail with, for autocomplete."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection


def contacts_record(*, mailbox_id: object, people: Iterable[tuple[str, str]]) -> None:
    """Upsert (name, email) pairs: count one more use, keep the latest non-empty name."""
    rows: dict[str, str] = {}
    for name, email in people:
        address = email.strip().lower()
        if address and "@" in address and len(address) <= 320:
            rows[address] = (name or rows.get(address, "")).strip()[:300]
    if not rows:
        return
    emails = list(rows)
    names = [rows[e] for e in emails]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO mail_contact (id, mailbox_id, email, name, use_count, last_used_at)
            SELECT gen_random_uuid(), %s, e, n, 1, now()
            FROM unnest(%s::text[], %s::text[]) AS x(e, n)
            ON CONFLICT (mailbox_id, email) DO UPDATE SET
                use_count = mail_contact.use_count + 1,
                last_used_at = now(),
                name = coalesce(nullif(EXCLUDED.name, ''), mail_contact.name)
            """,
            [str(mailbox_id), emails, names],
        )
