"""A small authoritative DNS server for the direct-delivery tests: UDP and TCP on
127.0.0.1, one port, threads; answers built with dnspython's ``dns.message``.

Records are zone-file texts per (name, type). A name with no record of any type
is NXDOMAIN; a name listed in ``servfail`` gets SERVFAIL, one in ``silent`` no
answer at all (the client times out). UDP answers that do not fit the client's
buffer (512 octets without EDNS) are sent truncated (TC), so the client asks
again over TCP.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

HOST = "127.0.0.1"


@dataclass
class Zone:
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    servfail: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    queries: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, transport)

    def add(self, name: str, rdtype: str, *values: str) -> None:
        self.records.setdefault((_key(name), rdtype.upper()), []).extend(values)

    def answer(self, query: dns.message.Message, transport: str) -> dns.message.Message | None:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name, rdtype = _key(question.name.to_text()), dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype, transport))
        if name in self.silent:
            return None
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rdtype) in self.records:
            texts = self.records[(name, rdtype)]
            response.answer.append(
                dns.rrset.from_text_list(question.name, 300, "IN", rdtype, texts)
            )
        elif not any(n == name for n, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response  # else NOERROR with no answer: the name exists, not that type

    def queried(self, name: str, rdtype: str) -> list[str]:
        return [t for n, r, t in self.queries if n == _key(name) and r == rdtype]


def _key(name: str) -> str:
    return name.lower().rstrip(".")


class _Udp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        zone: Zone = self.server.zone  # type: ignore[attr-defined]
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return
        response = zone.answer(query, "udp")
        if response is None:
            return
        size = max(512, query.payload) if query.edns >= 0 else 512
        try:
            wire = response.to_wire(max_size=size)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            wire = truncated.to_wire()
        sock.sendto(wire, self.client_address)


class _Tcp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        zone: Zone = self.server.zone  # type: ignore[attr-defined]
        while True:
            header = _read(self.request, 2)
            if header is None:
                return
            data = _read(self.request, struct.unpack("!H", header)[0])
            if data is None:
                return
            try:
                response = zone.answer(dns.message.from_wire(data), "tcp")
            except dns.exception.DNSException:
                return
            if response is None:
                continue
            wire = response.to_wire()
            self.request.sendall(struct.pack("!H", len(wire)) + wire)


def _read(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class DnsServer:
    """``with DnsServer(zone) as server:`` serves ``zone`` on 127.0.0.1:``server.port``."""

    def __init__(self, zone: Zone):
        self.zone = zone
        for _ in range(20):  # the UDP port and the TCP port must be the same number
            tcp = _TcpServer((HOST, 0), _Tcp)
            try:
                udp = _UdpServer((HOST, tcp.server_address[1]), _Udp)
            except OSError:
                tcp.server_close()
                continue
            break
        else:
            raise RuntimeError("no port free for both UDP and TCP")
        self.port = tcp.server_address[1]
        self._servers = (udp, tcp)
        for server in self._servers:
            server.zone = zone  # type: ignore[attr-defined]
        self._threads = [
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            for s in self._servers
        ]

    def __enter__(self) -> DnsServer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
