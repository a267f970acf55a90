"""MX hosts and DNS for the direct-delivery tests: a real DNS server
(tests/sending/dns_server.py) that FACTEUR_DNS_RESOLVERS points at, and MX hosts
on 127.0.0.2, 127.0.0.3 ... all on one port (FACTEUR_DIRECT_SMTP_PORT): aiosmtpd
sinks (with or without STARTTLS) and greeters that only say one line."""

from __future__ import annotations

import contextlib
import datetime
import socket
import socketserver
import ssl
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from facteur.ingest.recipients import forget_destinations
from tests.sending.dns_server import DnsServer, Zone
from tests.sending.smtp_sink import Sink, SinkHandler

HELO = "out.sender.test"
ADDRESSES = [f"127.0.0.{n}" for n in range(2, 10)]  # for MX hosts; 127.0.0.9: nobody


@dataclass
class MxHandler(SinkHandler):
    """A sink that also notes, per message, whether the session was under TLS and its EHLO name."""

    sessions: list[tuple[bool, str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.sessions.append((session.ssl is not None, session.host_name))
        return await super().handle_DATA(server, session, envelope)


class _TlsNotNow(SMTP):
    """Offers STARTTLS but answers it with 454 (RFC 3207: TLS not available)."""

    async def smtp_STARTTLS(self, arg: str) -> None:
        await self.push("454 4.7.0 TLS not available due to temporary reason")


class _TlsNotNowController(Controller):
    def factory(self) -> SMTP:
        return _TlsNotNow(self.handler, **self.SMTP_kwargs)


class _Greeter(socketserver.BaseRequestHandler):
    """Greets with the server's line, then hangs up (a busy or hostile MX)."""

    def handle(self) -> None:
        self.server.connections += 1  # type: ignore[attr-defined]
        self.request.sendall(self.server.line.encode() + b"\r\n")  # type: ignore[attr-defined]
        self.request.settimeout(2)
        with contextlib.suppress(OSError):
            self.request.recv(1024)  # the client's QUIT, if it sends one


class _GreeterServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class MxFarm:
    """MX hosts on loopback addresses, all on ``port``."""

    def __init__(self, port: int, tls_context: ssl.SSLContext, bad_tls_context: ssl.SSLContext):
        self.port = port
        self.tls_context = tls_context
        self.bad_tls_context = bad_tls_context
        self._stops: list = []

    def sink(self, address: str, *, tls: str = "") -> Sink:
        """An aiosmtpd MX; ``tls``: "" (no STARTTLS), "ok", "broken" (offered, the
        handshake fails) or "refused" (offered, then answered 454)."""
        handler = MxHandler()
        kwargs = {}
        if tls:
            kwargs["tls_context"] = self.bad_tls_context if tls == "broken" else self.tls_context
        kind = _TlsNotNowController if tls == "refused" else Controller
        controller = kind(handler, hostname=address, port=self.port, **kwargs)
        controller.start()
        self._stops.append(controller.stop)
        return Sink(handler, self.port)

    def greeter(self, address: str, line: str) -> _GreeterServer:
        server = _GreeterServer((address, self.port), _Greeter)
        server.line, server.connections = line, 0
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()  # fmt: skip
        self._stops.append(lambda: (server.shutdown(), server.server_close()))
        return server

    def stop(self) -> None:
        for stop in reversed(self._stops):
            stop()


def _port_free_everywhere() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            for address in ADDRESSES:
                with socket.socket() as probe:
                    probe.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every test address")


def _self_signed(tmp_path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "mx.crt", tmp_path / "mx.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def zone(settings) -> Iterator[Zone]:
    """The DNS the sending code sees (FACTEUR_DNS_RESOLVERS points at it)."""
    zone = Zone()
    with DnsServer(zone) as server:
        settings.FACTEUR_DNS_RESOLVERS = [("127.0.0.1", server.port)]
        settings.FACTEUR_DNS_TIMEOUT = 3
        yield zone


@pytest.fixture
def farm(settings, tmp_path) -> Iterator[MxFarm]:
    cert, key = _self_signed(tmp_path)
    good = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    good.load_cert_chain(cert, key)
    # TLS 1.0 at most: the client (TLS 1.2 at least) cannot agree with it.
    bad = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    bad.load_cert_chain(cert, key)
    with warnings.catch_warnings():  # deprecated, which is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        bad.maximum_version = ssl.TLSVersion.TLSv1
    forget_destinations()  # lookups cached by earlier tests name rows that are gone
    farm = MxFarm(_port_free_everywhere(), good, bad)
    settings.FACTEUR_SENDING_MODE = "direct"
    settings.FACTEUR_DIRECT_SMTP_PORT = farm.port
    settings.FACTEUR_SMTP_HELO_NAME = HELO
    try:
        yield farm
    finally:
        farm.stop()


def add_mx(zone: Zone, domain: str, *hosts: tuple[int, str, str]) -> None:
    """MX records for ``domain``: (preference, host name, host address)."""
    for preference, host, address in hosts:
        zone.add(domain, "MX", f"{preference} {host}.")
        zone.add(host, "A", address)
