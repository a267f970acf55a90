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
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import AnyStr

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING, SMTP, syntax

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
            await self._data(arg)

    async def _data(self, arg: str) -> None:
        """aiosmtpd's DATA, reading the message in blocks instead of line by line.

        aiosmtpd reads and checks each line in Python (a 20 KB message is ~300
        awaits); here the stream is searched for ".\r\n" and the line-length check,
        the size limit and dot-unstuffing work on whole blocks. Replies are the same.
        """
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            content, too_much = await read_data(self._reader, self.data_size_limit)
        except asyncio.CancelledError:
            log.info("connection lost during DATA")
            self._writer.close()
            raise
        # Over the size limit: drained, not kept. A line over 1,000 octets (1,001 with
        # a transparency dot, CRLF included) makes the message unfit for storing as is.
        if too_much or longest_line(content) > self.line_length_limit - 2:
            await self.push(
                "552 Error: Too much mail data"
                if too_much
                else "500 Line too long (see RFC5321 4.5.3.1.6)"
            )
            self._set_post_data_state()
            return
        # Dot-unstuffing (RFC 5321 4.5.2): a line's leading dot goes.
        if content.startswith(b"."):
            content = content[1:]
        content = content.replace(b"\r\n.", b"\r\n")
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # aiosmtpd's, without the typing class it defines on every call (a class
        # creation per MAIL and RCPT); the same parser and the same answers.
        if not arg:
            return "", ""
        try:
            parse = get_angle_addr if arg.lstrip().startswith("<") else get_addr_spec
            address, rest = parse(arg)
        except HeaderParseError:
            return None, None
        addr = address.addr_spec
        if self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return addr, rest


class DeliverySMTP(_DeliveryProtocol):
    pass


class DeliveryLMTP(_DeliveryProtocol, LMTP):
    async def push(self, status: AnyStr) -> None:
        refusal = replies.DATA_REFUSALS.get(status) if isinstance(status, str) else None
        if refusal and self.envelope is not None and self.envelope.rcpt_tos:
            status = "\r\n".join([refusal] * len(self.envelope.rcpt_tos))  # type: ignore[assignment]
        await super().push(status)


_END = b".\r\n"
_END_AFTER_LINE = b"\r\n.\r\n"


async def read_data(reader: asyncio.StreamReader, limit: int | None) -> tuple[bytes, bool]:
    """The bytes of DATA up to the lone dot (excluded), dot-stuffed as sent, and whether
    they went over ``limit`` (then they are drained and dropped: ``b""``)."""
    chunks: list[bytes] = []
    size = 0
    too_much = False
    tail = b"\r\n"  # what came before: the lone dot may be the very first line
    while True:
        try:
            chunk = await reader.readuntil(_END)
            ended = (tail + chunk[-5:])[-5:] == _END_AFTER_LINE
        except asyncio.LimitOverrunError as exc:
            # No ".\r\n" within the reader's limit: take what cannot hold its start.
            chunk = await reader.read(exc.consumed)
            ended = False
        if ended:
            chunk = chunk[:-3]
        size += len(chunk)
        if limit and size > limit:
            too_much = True
            chunks.clear()  # no memory for what will not be stored
        elif not too_much:
            chunks.append(chunk)
        if ended:
            return b"".join(chunks), too_much
        tail = (tail + chunk)[-4:]


def longest_line(content: bytes) -> int:
    """The longest line of ``content`` in octets, CRLF excluded."""
    return max(map(len, content.split(b"\r\n")))


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
