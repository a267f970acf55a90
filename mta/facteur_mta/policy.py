"""Recipient policy service for MTA-in: Postfix asks, at RCPT, whether an address exists.

Postfix's policy delegation protocol (SMTPD_POLICY_README): the client sends ``name=value``
lines, an empty line ends the request; the server answers ``action=...`` and an empty line,
on the same connection, which Postfix keeps open for further requests.

The answer comes from the backend's internal API (``GET /api/v1.0/mta/recipients/<addr>/``
with the service token), cached briefly so a burst of mail to one address costs one call:

- known recipient (mailbox or alias): ``DUNNO`` (let the next restriction decide);
- unknown recipient: ``550 5.1.1 no such mailbox`` (Postfix adds the address);
- disabled mailbox (kept after its Mailbox resource went, deletionPolicy Retain):
  ``550 5.2.1 mailbox disabled``;
- backend unreachable or answering an error: ``DEFER_IF_PERMIT 4.3.0 ...``, a temporary
  refusal, so that the sender retries instead of bouncing mail for a real mailbox.

The protocol parsing and the decision are plain functions; the daemon only moves bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("facteur_mta.policy")

# Answers, as constants shared by code and tests.
DUNNO = "DUNNO"
UNAVAILABLE = "DEFER_IF_PERMIT 4.3.0 Service temporarily unavailable"
# Postfix prefixes "<addr>: Recipient address rejected: " to the text itself, so the
# client reads "550 5.1.1 <addr>: Recipient address rejected: no such mailbox".
NO_SUCH_MAILBOX = "550 5.1.1 no such mailbox"
# RFC 3463 X.2.1: the mailbox exists and takes no mail (retained after its Mailbox went).
MAILBOX_DISABLED = "550 5.2.1 mailbox disabled"
# What the backend can say of an address besides "exists" (True) and "does not" (False).
DISABLED = "disabled"

# A request is a handful of short attributes; anything bigger is not Postfix.
MAX_LINE = 4096
MAX_ATTRIBUTES = 100

API_PATH = "/api/v1.0/mta/recipients/{}/"


class ProtocolError(ValueError):
    """The peer does not speak the policy protocol; the connection is dropped."""


class BackendError(RuntimeError):
    """The backend could not answer; the recipient is deferred, never refused."""


def parse_request(lines: list[str]) -> dict[str, str]:
    """``name=value`` lines (without the ending empty line) -> attributes."""
    if len(lines) > MAX_ATTRIBUTES:
        raise ProtocolError("too many attributes")
    attributes: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep or not name:
            raise ProtocolError(f"not a name=value line: {line[:80]!r}")
        attributes[name] = value
    return attributes


def format_response(action: str) -> bytes:
    return f"action={action}\n\n".encode()


def recipient_to_check(attributes: dict[str, str]) -> str | None:
    """The address to look up, or None when this request is not ours to judge."""
    if attributes.get("request") != "smtpd_access_policy":
        return None
    if attributes.get("protocol_state", "").upper() != "RCPT":
        return None
    return attributes.get("recipient", "").strip() or None


def decide(address: str, exists: bool | str | None) -> str:
    """The action for ``address``: ``exists`` is None when the backend could not say,
    ``DISABLED`` when the mailbox is there but disabled."""
    if exists is None:
        return UNAVAILABLE
    if exists == DISABLED:
        return MAILBOX_DISABLED
    if exists:
        return DUNNO
    return NO_SUCH_MAILBOX


@dataclass
class RecipientCache:
    """Answers kept ``positive_ttl`` / ``negative_ttl`` seconds: a new mailbox is found
    soon, a deleted one stops receiving soon, and the backend sees one call per burst."""

    positive_ttl: float = 30.0
    negative_ttl: float = 10.0
    max_entries: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[bool | str, float]] = field(default_factory=dict)

    def get(self, address: str) -> bool | str | None:
        entry = self._entries.get(address.lower())
        if entry is None:
            return None
        exists, expires = entry
        if self.clock() >= expires:
            del self._entries[address.lower()]
            return None
        return exists

    def put(self, address: str, exists: bool | str) -> None:
        if len(self._entries) >= self.max_entries:
            # Dropping everything is crude but bounded; the backend refills what is hot.
            self._entries.clear()
        # A disabled mailbox is enabled again by the operator: seen as soon as a missing one.
        ttl = self.positive_ttl if exists is True else self.negative_ttl
        self._entries[address.lower()] = (exists, self.clock() + ttl)


@dataclass
class BackendClient:
    """Asks the backend's internal API, with the stdlib client in a worker thread."""

    api_url: str
    token: str
    timeout: float = 3.0

    def __post_init__(self) -> None:
        scheme = urllib.parse.urlsplit(self.api_url).scheme
        # urlopen also reads file: and ftp: URLs; only HTTP(S) is ever meant here.
        if scheme not in ("http", "https"):
            raise ValueError(f"FACTEUR_API_URL must be an http(s) URL, got {self.api_url!r}")
        self.api_url = self.api_url.rstrip("/")

    def exists_sync(self, address: str) -> bool | str:
        url = self.api_url + API_PATH.format(urllib.parse.quote(address, safe="@+"))
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __post_init__)
            url, headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read(65536))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise BackendError(str(exc)) from exc
        if not isinstance(body, dict) or not isinstance(body.get("exists"), bool):
            raise BackendError(f"unexpected answer: {body!r:.200}")
        if body["exists"] and body.get("disabled") is True:
            return DISABLED
        return body["exists"]

    async def exists(self, address: str) -> bool | str:
        return await asyncio.to_thread(self.exists_sync, address)


@dataclass
class PolicyService:
    lookup: Callable[[str], Awaitable[bool | str]]
    cache: RecipientCache = field(default_factory=RecipientCache)

    async def answer(self, attributes: dict[str, str]) -> str:
        address = recipient_to_check(attributes)
        if address is None:
            return DUNNO
        exists = self.cache.get(address)
        if exists is None:
            try:
                exists = await self.lookup(address)
            except BackendError as exc:
                # Not cached: the next attempt asks again.
                log.warning("recipient lookup failed for %s: %s", address, exc)
                return decide(address, None)
            self.cache.put(address, exists)
        return decide(address, exists)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                lines = await read_request(reader)
                if lines is None:
                    break
                action = await self.answer(parse_request(lines))
                writer.write(format_response(action))
                await writer.drain()
        except (ProtocolError, ValueError, ConnectionError) as exc:
            log.warning("dropping policy client: %s", exc)
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> list[str] | None:
    """Lines up to the empty one; None when the client closed between requests."""
    lines: list[str] = []
    while True:
        try:
            raw = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial and not lines:
                return None
            raise ProtocolError("connection closed inside a request") from exc
        except asyncio.LimitOverrunError as exc:
            raise ProtocolError("line too long") from exc
        line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
        if not line:
            return lines
        lines.append(line)
        if len(lines) > MAX_ATTRIBUTES:
            raise ProtocolError("too many attributes")


async def start_server(service: PolicyService, host: str, port: int) -> asyncio.Server:
    return await asyncio.start_server(service.handle, host, port, limit=MAX_LINE)


def read_token(environ: os._Environ[str] | dict[str, str]) -> str:
    """FACTEUR_SERVICE_TOKEN, or the content of FACTEUR_SERVICE_TOKEN_FILE (a mounted Secret)."""
    path = environ.get("FACTEUR_SERVICE_TOKEN_FILE", "")
    if path:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    else:
        token = environ.get("FACTEUR_SERVICE_TOKEN", "").strip()
    if not token:
        raise SystemExit(
            "facteur-policy: set FACTEUR_SERVICE_TOKEN or FACTEUR_SERVICE_TOKEN_FILE "
            "(the backend's service token)"
        )
    return token


async def serve(args: argparse.Namespace, token: str) -> None:
    client = BackendClient(api_url=args.api_url, token=token, timeout=args.timeout)
    cache = RecipientCache(positive_ttl=args.positive_ttl, negative_ttl=args.negative_ttl)
    server = await start_server(PolicyService(client.exists, cache), args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("policy service on %s:%s, backend %s", args.host, args.port, client.api_url)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="facteur-policy", description="Postfix recipient policy service for Facteur."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=10040)
    parser.add_argument(
        "--api-url",
        default=os.environ.get("FACTEUR_API_URL", "http://127.0.0.1:8000"),
        help="the backend's base URL (env FACTEUR_API_URL)",
    )
    parser.add_argument("--timeout", type=float, default=3.0, help="backend call timeout, s")
    parser.add_argument("--positive-ttl", type=float, default=30.0)
    parser.add_argument("--negative-ttl", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    token = read_token(os.environ)
    try:
        asyncio.run(serve(args, token))
    except ValueError as exc:
        raise SystemExit(f"facteur-policy: {exc}") from exc


if __name__ == "__main__":
    main()
