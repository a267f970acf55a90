"""A relay stand-in for the send tests: an aiosmtpd server on loopback (its own thread)
that keeps what it receives and answers RCPT per address pattern (250, 451, 550...)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from facteur.ingest.recipients import forget_destinations
from tests.net import free_port

HOST = "127.0.0.1"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    # address regex -> the reply to its RCPT; addresses matching none get 250
    rcpt_replies: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        for pattern, reply in self.rcpt_replies.items():
            if re.search(pattern, address):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
        )
        return f"250 2.0.0 Ok: queued as SINK{len(self.received)}"


@dataclass
class Sink:
    handler: SinkHandler
    port: int

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def answer(self, pattern: str, reply: str) -> None:
        self.handler.rcpt_replies[pattern] = reply

    def answer_all_ok(self) -> None:
        self.handler.rcpt_replies.clear()


@pytest.fixture
def sink(settings) -> Iterator[Sink]:
    """The relay (FACTEUR_RELAY_HOST/PORT point at it; no STARTTLS, no AUTH)."""
    forget_destinations()  # lookups cached by earlier tests name rows that are gone
    handler = SinkHandler()
    controller = Controller(handler, hostname=HOST, port=free_port())
    controller.start()
    settings.FACTEUR_SENDING_MODE = "relay"
    settings.FACTEUR_RELAY_HOST = HOST
    settings.FACTEUR_RELAY_PORT = controller.port
    settings.FACTEUR_RELAY_STARTTLS = True  # offered by nobody here: plain SMTP
    settings.FACTEUR_RELAY_USERNAME = ""
    try:
        yield Sink(handler, controller.port)
    finally:
        controller.stop()
