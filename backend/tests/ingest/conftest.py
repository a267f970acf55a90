"""Mailboxes to deliver to, and the .eml fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from facteur.domains.models import MailboxKind
from facteur.domains.services import access_grant, alias_create, domain_create, mailbox_create
from facteur.ingest.recipients import forget_destinations
from facteur.users.services import user_create

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(autouse=True)
def _fresh_destinations():
    # Each test's mailboxes are rolled back with it; their cached lookups must go too.
    forget_destinations()


@pytest.fixture
def domain(db):
    return domain_create(name="facteur.test")


@pytest.fixture
def alice_user(db):
    return user_create(email="alice@people.test", full_name="Alice")


@pytest.fixture
def assistant_user(db):
    return user_create(email="assistant@people.test", full_name="Assistant")


@pytest.fixture
def alice(domain, alice_user, assistant_user):
    """alice@facteur.test, also reached as a.liddell@facteur.test; two people read it."""
    mailbox = mailbox_create(domain=domain, local_part="alice", display_name="Alice")
    alias_create(mailbox=mailbox, local_part="a.liddell")
    access_grant(mailbox=mailbox, user=alice_user, role="admin")
    access_grant(mailbox=mailbox, user=assistant_user, role="viewer")
    return mailbox


@pytest.fixture
def support(domain, alice_user):
    mailbox = mailbox_create(domain=domain, local_part="support", kind=MailboxKind.SHARED)
    access_grant(mailbox=mailbox, user=alice_user, role="editor")
    return mailbox


def make_mail(
    *,
    mime_id: str | None,
    subject: str = "Budget review",
    sender: str = "Bob Martin <bob@sender.example>",
    to: str = "Alice <alice@facteur.test>",
    cc: str = "",
    in_reply_to: str = "",
    references: str = "",
    date: str = "Mon, 3 Feb 2025 10:00:00 +0100",
    body: str = "Hello Alice,\n\nHere are the figures.\n",
) -> bytes:
    """A small, well-formed message; only the headers a test cares about vary."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    if cc:
        lines.append(f"Cc: {cc}")
    if mime_id:
        lines.append(f"Message-ID: <{mime_id}>")
    if in_reply_to:
        lines.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        lines.append(f"References: {references}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body]
    return "\r\n".join(lines).encode("utf-8")
