"""Personas shared by the API tests (see ``world``)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from facteur.domains import services as domain_services
from facteur.domains.models import Mailbox, MailDomain
from facteur.mail.models import Message, Thread
from facteur.users.models import User
from tests import factories


@dataclass
class World:
    """One tenant with a shared mailbox and a member per role, plus an outsider tenant.

    - ``viewer`` / ``editor`` / ``sender`` / ``admin``: accesses on ``mailbox``
    - ``domain_admin``: administers ``domain``, has no access to its mailboxes' mail
    - ``outsider``: admin of ``other_mailbox`` in another domain, nothing here
    """

    domain: MailDomain
    mailbox: Mailbox
    thread: Thread
    message: Message
    other_domain: MailDomain
    other_mailbox: Mailbox
    other_thread: Thread
    users: dict[str, User]

    def client(self, persona: str) -> Client:
        client = Client()
        if persona != "anonymous":
            client.force_login(self.users[persona])
        return client


@pytest.fixture
def world(db) -> World:
    dom = factories.domain("tenant.test")
    box = factories.mailbox(dom, "contact", shared=True)
    users = {role: factories.user(f"{role}@tenant.test") for role in
             ("viewer", "editor", "sender", "admin", "domain_admin")}  # fmt: skip
    for role in ("viewer", "editor", "sender", "admin"):
        domain_services.access_grant(mailbox=box, user=users[role], role=role)
    domain_services.domain_admin_add(domain=dom, user=users["domain_admin"])
    message = factories.message_create(box, subject="Request", attachment=b"%PDF-1.4 test")
    other = factories.domain("other.test")
    other_box = factories.mailbox(other, "hello")
    users["outsider"] = factories.user("outsider@other.test")
    domain_services.access_grant(mailbox=other_box, user=users["outsider"], role="admin")
    other_message = factories.message_create(other_box, subject="Private")
    return World(
        domain=dom,
        mailbox=box,
        thread=message.thread,
        message=message,
        other_domain=other,
        other_mailbox=other_box,
        other_thread=other_message.thread,
        users=users,
    )
