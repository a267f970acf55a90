"""A mailbox filled through the real ingest path, and a helper that searches it."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from facteur.domains.services import access_grant, domain_create, mailbox_create
from facteur.ingest.recipients import forget_destinations
from facteur.ingest.services import ingest_message
from facteur.mail.models import Message
from facteur.search.selectors import threads_search
from facteur.users.services import user_create


@pytest.fixture(autouse=True)
def _fresh_destinations():
    forget_destinations()  # each test's mailboxes are rolled back with it


@pytest.fixture
def owner(db):
    return user_create(email="owner@people.test", full_name="Owner")


@pytest.fixture
def box(owner):
    domain = domain_create(name="facteur.test")
    mailbox = mailbox_create(domain=domain, local_part="claire", display_name="Claire")
    access_grant(mailbox=mailbox, user=owner, role="admin")
    return mailbox


def deliver(
    to: str,
    *,
    subject: str,
    body: str = "Bonjour.",
    sender: str = "Alice Martin <alice.martin@example.com>",
    cc: str = "",
    attachment: str = "",
    mime_id: str | None = None,
    in_reply_to: str = "",
) -> Message:
    """Deliver a message to ``to`` through ingest; the stored copy."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Date"] = "Mon, 3 Feb 2025 10:00:00 +0100"
    if cc:
        mail["Cc"] = cc
    if mime_id:
        mail["Message-ID"] = f"<{mime_id}>"
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    mail.set_content(body)
    if attachment:
        mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=attachment)
    result = ingest_message(raw=bytes(mail), recipients=[to])
    return Message.objects.get(pk=result.recipients[0].message_id)


def subjects(user, mailboxes, text: str, **kwargs) -> list[str]:
    """Subjects of the threads ``text`` finds, best first."""
    results = threads_search(
        user_id=user.pk, mailbox_ids=[str(m.pk) for m in mailboxes], text=text, **kwargs
    )
    by_id = dict(
        Message.objects.filter(id__in=[h.message_id for h in results.hits]).values_list(
            "id", "thread__subject"
        )
    )
    return [by_id[h.message_id] for h in results.hits]
