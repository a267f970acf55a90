"""Contacts: every address a mailbox exchanges mail with, for autocomplete."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

# One use of some people by a mailbox (one message): (mailbox id, [(name, email), ...]).
Use = tuple[object, Iterable[tuple[str, str]]]


def contacts_record(*, mailbox_id: object, people: Iterable[tuple[str, str]]) -> None:
    """Upsert (name, email) pairs: count one more use, keep the latest non-empty name."""
    contacts_record_uses(uses=[(mailbox_id, people)])


def contacts_record_uses(*, uses: Iterable[Use]) -> None:
    """``contacts_record`` for several messages in one statement: each message counts
    one use of each address in it, the latest non-empty name wins."""
    rows: dict[tuple[str, str], list] = {}  # (mailbox, address) -> [name, uses]
    for mailbox_id, people in uses:
        seen: set[tuple[str, str]] = set()
        for name, email in people:
            address = email.strip().lower()
            if not (address and "@" in address and len(address) <= 320):
                continue
            key = (str(mailbox_id), address)
            row = rows.setdefault(key, ["", 0])
            row[0] = (name or row[0]).strip()[:300]
            if key not in seen:
                seen.add(key)
                row[1] += 1
    if not rows:
        return
    keys = sorted(rows)  # one order for every writer: row locks taken alike
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO mail_contact (id, mailbox_id, email, name, use_count, last_used_at)
            SELECT gen_random_uuid(), m::uuid, e, n, c, now()
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[]) AS x(m, e, n, c)
            ON CONFLICT (mailbox_id, email) DO UPDATE SET
                use_count = mail_contact.use_count + EXCLUDED.use_count,
                last_used_at = now(),
                name = coalesce(nullif(EXCLUDED.name, ''), mail_contact.name)
            """,
            [
                [m for m, _ in keys],
                [e for _, e in keys],
                [rows[k][0] for k in keys],
                [rows[k][1] for k in keys],
            ],
        )
