"""The listening sockets: LMTP and SMTP faces of one delivery service, one event loop.

``DeliveryServer.stop`` stops accepting connections, lets every DATA in progress
finish (its reply included), then closes the rest: a sender cut off before its
reply retries, and ingest makes the retry harmless.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import weakref
from dataclasses import dataclass
from typing import AnyStr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, syntax

from facteur.delivery import replies
from facteur.delivery.handler import DeliveryHandler

log = logging.getLogger(__name__)

# How long a stop waits for messages in progress before cutting them off.
STOP_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Listener:
    face: str  # "lmtp" or "smtp"
    host: str
    port: int  # 0: any free port (tests)


class InFlight:
    """Sessions inside DATA (receiving, storing or replying), to wait for on stop."""

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def __enter__(self) -> None:
        self.count += 1
        self.idle.clear()

    def __exit__(self, *exc: object) -> None:
        self.count -= 1
        if self.count == 0:
            self.idle.set()


class _DeliveryProtocol(SMTP):
    def __init__(self, handler: DeliveryHandler, *, in_flight: InFlight, **kwargs: object) -> None:
        self.in_flight = in_flight
        super().__init__(handler, **kwargs)  # type: ignore[arg-type]

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            status = replies.REWRITTEN.get(status, status)  # type: ignore[assignment]
        await super().push(status)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        with self.in_flight:
            await super().smtp_DATA(arg)


class DeliverySMTP(_DeliveryProtocol):
    pass


class DeliveryLMTP(_DeliveryProtocol, LMTP):
    async def push(self, status: AnyStr) -> None:
        refusal = replies.DATA_REFUSALS.get(status) if isinstance(status, str) else None
        if refusal and self.envelope is not None and self.envelope.rcpt_tos:
            status = "\r\n".join([refusal] * len(self.envelope.rcpt_tos))  # type: ignore[assignment]
        await super().push(status)


PROTOCOLS: dict[str, type[_DeliveryProtocol]] = {"lmtp": DeliveryLMTP, "smtp": DeliverySMTP}


class DeliveryServer:
    def __init__(
        self,
        *,
        handler: DeliveryHandler,
        listeners: list[Listener],
        data_size_limit: int,
        hostname: str | None = None,
    ) -> None:
        self.handler = handler
        self.listeners = listeners
        self.data_size_limit = data_size_limit
        # aiosmtpd would call socket.getfqdn(), which can hang on a broken resolver.
        self.hostname = hostname or socket.gethostname()
        self._servers: list[asyncio.Server] = []
        self._in_flight: InFlight | None = None
        self._sessions: weakref.WeakSet[_DeliveryProtocol] = weakref.WeakSet()

    async def start(self) -> dict[str, tuple[str, int]]:
        """Listen on every listener; returns each face's bound (host, port)."""
        loop = asyncio.get_running_loop()
        self._in_flight = InFlight()
        bound = {}
        for listener in self.listeners:
            protocol = PROTOCOLS[listener.face]

            def factory(protocol: type[_DeliveryProtocol] = protocol) -> _DeliveryProtocol:
                session = protocol(
                    self.handler,
                    in_flight=self._in_flight,
                    data_size_limit=self.data_size_limit,
                    enable_SMTPUTF8=True,
                    hostname=self.hostname,
                    loop=loop,
                )
                self._sessions.add(session)
                return session

            server = await loop.create_server(factory, listener.host, listener.port)
            self._servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            bound[listener.face] = (host, port)
            log.info("%s listening on %s:%d", listener.face.upper(), host, port)
        return bound

    async def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> bool:
        """Stop within about ``grace`` seconds; False when a delivery was still running in
        a worker thread (stuck in the database): the caller must end the process."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        for server in self._servers:
            server.close()  # no new connections; sessions already open go on
        if self._in_flight is not None and not self._in_flight.idle.is_set():
            log.info("waiting for %d message(s) in progress", self._in_flight.count)
            try:
                await asyncio.wait_for(self._in_flight.idle.wait(), grace)
            except TimeoutError:
                log.warning("stopping with %d message(s) unfinished", self._in_flight.count)
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()  # idle sessions: nothing of theirs is lost
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        # Past the grace, what still runs is stuck: a second more, no longer.
        remaining = max(deadline - loop.time(), 1.0)
        finished = await asyncio.to_thread(self.handler.close, remaining)
        if not finished:
            log.warning("a delivery is stuck in the database; leaving it (its sender retries)")
        return finished
