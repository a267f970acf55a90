"""Envelope recipients to mailboxes, remembered for a few seconds.

A delivery service resolves the same few addresses thousands of times a
minute; asking the database each time costs more than storing the message.
Found mailboxes are kept for ``TTL`` seconds (never "not found": a mailbox
created a moment ago must not bounce mail), and any change to a domain,
mailbox or alias made in this process forgets everything at once. A change
made by another process is seen within ``TTL``.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save

from facteur.domains.models import Mailbox, MailboxAlias, MailDomain
from facteur.domains.selectors import mailbox_for_address

TTL = 5.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class Destination:
    mailbox_id: uuid.UUID
    address: str
    # The mailbox's address and its aliases, lower case: mail from these is its own.
    own_addresses: frozenset[str]
    disabled: bool = False  # the mailbox or its domain: inbound mail is refused


_lock = threading.Lock()
_entries: dict[str, tuple[float, Destination]] = {}


def destination_for(address: str) -> Destination | None:
    """The mailbox ``address`` delivers to (aliases included), or None."""
    key = address.strip().strip("<>").lower()
    now = time.monotonic()
    entry = _entries.get(key)
    if entry and entry[0] > now:
        return entry[1]
    mailbox = mailbox_for_address(key)
    if mailbox is None:
        return None
    aliases = MailboxAlias.objects.filter(mailbox=mailbox).values_list("local_part", "domain__name")
    destination = Destination(
        mailbox_id=mailbox.pk,
        address=mailbox.address.lower(),
        own_addresses=frozenset(
            {mailbox.address.lower(), *(f"{local}@{domain}".lower() for local, domain in aliases)}
        ),
        disabled=not mailbox.accepts_mail,
    )
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (now + TTL, destination)
    return destination


def remembered_destination(address: str) -> Destination | None:
    """``address``'s destination if it is remembered, without asking the database
    (an event loop may call it: a miss says nothing about the address)."""
    entry = _entries.get(address.strip().strip("<>").lower())
    return entry[1] if entry and entry[0] > time.monotonic() else None


def forget_destinations(**_: object) -> None:
    with _lock:
        _entries.clear()


def connect_signals() -> None:
    for model in (MailDomain, Mailbox, MailboxAlias):
        post_save.connect(
            forget_destinations, sender=model, dispatch_uid=f"ingest-{model.__name__}"
        )
        post_delete.connect(
            forget_destinations, sender=model, dispatch_uid=f"ingest-del-{model.__name__}"
        )
