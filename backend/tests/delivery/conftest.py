"""A real delivery server on loopback (its own event loop in a thread), mailboxes to
deliver to, and smtplib clients that show every reply."""

from __future__ import annotations

import asyncio
import smtplib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings

from facteur.delivery.handler import DeliveryHandler
from facteur.delivery.server import DeliveryServer, Listener
from facteur.domains.models import Mailbox
from facteur.domains.services import alias_create, domain_create, mailbox_create
from facteur.ingest.recipients import forget_destinations

HOST = "127.0.0.1"


@pytest.fixture(autouse=True)
def _fresh_destinations():
    # Rows of earlier tests are gone; their cached lookups must go too.
    forget_destinations()


@dataclass
class Mailboxes:
    alice: Mailbox
    bob: Mailbox


@pytest.fixture
def mailboxes(transactional_db) -> Mailboxes:
    """alice@facteur.test (alias a.liddell@) and bob@facteur.test, committed."""
    domain = domain_create(name="facteur.test")
    alice = mailbox_create(domain=domain, local_part="alice")
    alias_create(mailbox=alice, local_part="a.liddell")
    return Mailboxes(alice=alice, bob=mailbox_create(domain=domain, local_part="bob"))


class RunningServer:
    """A DeliveryServer on free loopback ports, served by a loop in a background thread."""

    def __init__(self, server: DeliveryServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bound = self._run(server.start())

    @property
    def lmtp_port(self) -> int:
        return self.bound["lmtp"][1]

    @property
    def smtp_port(self) -> int:
        return self.bound["smtp"][1]

    def stop(self) -> None:
        self._run(self.server.stop(grace=5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)


@pytest.fixture
def serve(transactional_db) -> Iterator:
    """``serve(max_recipients=..., data_size_limit=..., workers=...)`` starts a server
    (stopped after)."""
    running = []

    def start(
        *,
        max_recipients: int = settings.FACTEUR_MAX_RECIPIENTS,
        data_size_limit: int = settings.FACTEUR_MAX_MESSAGE_SIZE,
        workers: int | None = None,
    ) -> RunningServer:
        server = DeliveryServer(
            handler=DeliveryHandler(max_recipients=max_recipients, workers=workers),
            listeners=[Listener("lmtp", HOST, 0), Listener("smtp", HOST, 0)],
            data_size_limit=data_size_limit,
            hostname="delivery.test",
        )
        running.append(RunningServer(server))
        return running[-1]

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def server(serve) -> RunningServer:
    return serve()


def reply(answer: tuple[int, bytes]) -> str:
    """smtplib's (code, text) as the reply line it was on the wire."""
    code, text = answer
    return f"{code} {text.decode()}"


def smtp_client(port: int) -> smtplib.SMTP:
    client = smtplib.SMTP(HOST, port, timeout=30)
    client.ehlo("client.test")
    return client


def lmtp_client(port: int) -> smtplib.LMTP:
    client = smtplib.LMTP(HOST, port, timeout=30)
    client.ehlo("client.test")  # smtplib.LMTP sends LHLO
    return client


def lmtp_send(
    client: smtplib.LMTP, recipients: list[str], raw: bytes, sender: str = "carol@elsewhere.test"
) -> tuple[list[str], list[str]]:
    """One LMTP transaction; returns the RCPT replies and the per-recipient DATA replies."""
    assert client.mail(sender)[0] == 250
    at_rcpt = [reply(client.rcpt(address)) for address in recipients]
    accepted = sum(1 for r in at_rcpt if r.startswith("250"))
    at_data = [reply(client.data(raw))] if accepted else []
    at_data += [reply(client.getreply()) for _ in range(accepted - 1)]
    return at_rcpt, at_data


def send_raw_data(client: smtplib.SMTP, raw: bytes) -> str:
    """DATA with ``raw`` sent as is (smtplib.data would turn bare LF into CRLF).

    The server receives ``raw``, plus CRLF if it does not end with one.
    """
    assert client.docmd("DATA")[0] == 354
    client.send(raw + (b"" if raw.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    return reply(client.getreply())


def make_mail(
    *, subject: str = "Hello", to: str = "alice@facteur.test", body: str = "Hi!"
) -> bytes:
    return (
        f"From: Carol <carol@elsewhere.test>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4()}@elsewhere.test>\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n"
        f"{body}\r\n"
    ).encode()
