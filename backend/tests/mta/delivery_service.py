"""The project's delivery service (LMTP face) in process, for the Postfix tests: Postfix
hands it mail over LMTP and it stores it through ingest, as in production."""

from __future__ import annotations

import asyncio
import threading
import time

from django.conf import settings

from facteur.delivery.handler import DeliveryHandler
from facteur.delivery.server import DeliveryServer, Listener
from facteur.domains.models import Mailbox
from facteur.mail.models import Message


class Delivery:
    """The delivery service on loopback, served by a loop in a background thread."""

    def __init__(self) -> None:
        self.server = DeliveryServer(
            handler=DeliveryHandler(max_recipients=settings.FACTEUR_MAX_RECIPIENTS),
            listeners=[Listener("lmtp", "127.0.0.1", 0)],
            data_size_limit=settings.FACTEUR_MAX_MESSAGE_SIZE,
            hostname="delivery.test",
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = self._run(self.server.start())["lmtp"][1]

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self) -> None:
        self._run(self.server.stop(grace=5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def wait_for_stored(mailbox: Mailbox, subject: str, timeout: float = 15.0) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = Message.objects.filter(mailbox=mailbox, subject=subject).first()
        if message is not None:
            return message
        time.sleep(0.1)
    raise AssertionError(f"no message {subject!r} stored in {mailbox.address}")
