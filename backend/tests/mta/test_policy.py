"""The policy service: protocol parsing and decision on their own, then the daemon over a
real loopback socket (with a lookup function standing in for the backend).

Scenarios: request parsing and bad input; DUNNO for known, 550 5.1.1 for unknown,
DEFER_IF_PERMIT when the backend fails; non-RCPT requests left alone; cache TTLs
(positive longer than negative, errors not cached); several requests on one connection;
a malformed client dropped; the HTTP client's failures become BackendError; the token file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from facteur_mta import policy
from facteur_mta.policy import (
    DISABLED,
    DUNNO,
    UNAVAILABLE,
    BackendClient,
    BackendError,
    PolicyService,
    ProtocolError,
    RecipientCache,
    decide,
    parse_request,
    recipient_to_check,
)
from tests.net import free_port

RCPT = {
    "request": "smtpd_access_policy",
    "protocol_state": "RCPT",
    "sender": "alice@elsewhere.test",
    "recipient": "contact@tenant.test",
}


def request_bytes(attributes: dict[str, str]) -> bytes:
    return "".join(f"{k}={v}\n" for k, v in attributes.items()).encode() + b"\n"


def test_parse_request() -> None:
    assert parse_request(["request=smtpd_access_policy", "recipient=a@b.test", "sasl_method="]) == {
        "request": "smtpd_access_policy",
        "recipient": "a@b.test",
        "sasl_method": "",
    }


@pytest.mark.parametrize("lines", [["no equals sign"], ["=value"], ["a=b"] * 101])
def test_parse_request_refuses_garbage(lines: list[str]) -> None:
    with pytest.raises(ProtocolError):
        parse_request(lines)


def test_recipient_to_check() -> None:
    assert recipient_to_check(RCPT) == "contact@tenant.test"
    assert recipient_to_check({**RCPT, "protocol_state": "DATA"}) is None
    assert recipient_to_check({**RCPT, "request": "something_else"}) is None
    assert recipient_to_check({**RCPT, "recipient": ""}) is None


def test_decide() -> None:
    assert decide("a@b.test", True) == "DUNNO"
    assert decide("a@b.test", False) == "550 5.1.1 no such mailbox"
    assert decide("a@b.test", None) == "DEFER_IF_PERMIT 4.3.0 Service temporarily unavailable"
    assert decide("a@b.test", DISABLED) == "550 5.2.1 mailbox disabled"


def test_a_disabled_answer_is_kept_as_briefly_as_a_missing_one() -> None:
    now = [100.0]
    cache = RecipientCache(positive_ttl=30, negative_ttl=10, clock=lambda: now[0])
    cache.put("off@t.test", DISABLED)
    now[0] += 9
    assert cache.get("off@t.test") == DISABLED
    now[0] += 2
    assert cache.get("off@t.test") is None


def test_cache_ttls() -> None:
    now = [100.0]
    cache = RecipientCache(positive_ttl=30, negative_ttl=10, clock=lambda: now[0])
    cache.put("Known@T.test", True)
    cache.put("gone@t.test", False)
    now[0] += 9
    assert cache.get("known@t.test") is True and cache.get("gone@t.test") is False
    now[0] += 2
    assert cache.get("known@t.test") is True and cache.get("gone@t.test") is None
    now[0] += 20
    assert cache.get("known@t.test") is None


def test_cache_is_bounded() -> None:
    cache = RecipientCache(max_entries=2)
    for i in range(5):
        cache.put(f"a{i}@t.test", True)
    assert len(cache._entries) <= 2


class FakeBackend:
    def __init__(self, known: set[str], fail: bool = False) -> None:
        self.known, self.fail, self.calls = known, fail, []

    async def __call__(self, address: str) -> bool:
        self.calls.append(address)
        if self.fail:
            raise BackendError("down")
        return address in self.known


def test_answer_caches_answers_but_not_errors() -> None:
    asyncio.run(_answer_caches_answers_but_not_errors())


async def _answer_caches_answers_but_not_errors() -> None:
    backend = FakeBackend({"contact@tenant.test"})
    service = PolicyService(backend)
    assert await service.answer(RCPT) == DUNNO
    assert await service.answer(RCPT) == DUNNO
    assert backend.calls == ["contact@tenant.test"]
    backend.fail = True
    other = {**RCPT, "recipient": "new@tenant.test"}
    assert await service.answer(other) == UNAVAILABLE
    assert await service.answer(other) == UNAVAILABLE
    assert backend.calls.count("new@tenant.test") == 2


def test_non_rcpt_requests_are_not_looked_up() -> None:
    asyncio.run(_non_rcpt_requests_are_not_looked_up())


async def _non_rcpt_requests_are_not_looked_up() -> None:
    backend = FakeBackend(set())
    service = PolicyService(backend)
    assert await service.answer({**RCPT, "protocol_state": "END-OF-MESSAGE"}) == DUNNO
    assert backend.calls == []


def test_daemon_over_a_socket() -> None:
    asyncio.run(_daemon_over_a_socket())


async def _daemon_over_a_socket() -> None:
    service = PolicyService(FakeBackend({"contact@tenant.test"}))
    server = await policy.start_server(service, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # Postfix keeps the connection and sends request after request on it.
        writer.write(request_bytes(RCPT))
        assert await reader.readuntil(b"\n\n") == b"action=DUNNO\n\n"
        writer.write(request_bytes({**RCPT, "recipient": "nobody@tenant.test"}))
        assert await reader.readuntil(b"\n\n") == b"action=550 5.1.1 no such mailbox\n\n"
        # A request split over several writes is still one request.
        data = request_bytes(RCPT)
        writer.write(data[:10])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(data[10:])
        assert await reader.readuntil(b"\n\n") == b"action=DUNNO\n\n"
        writer.close()
        await writer.wait_closed()


def test_daemon_drops_a_client_that_is_not_postfix() -> None:
    asyncio.run(_daemon_drops_a_client_that_is_not_postfix())


async def _daemon_drops_a_client_that_is_not_postfix() -> None:
    service = PolicyService(FakeBackend(set()))
    server = await policy.start_server(service, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        assert await reader.read() == b""
        writer.close()
        # ...and one line too long for the protocol.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"recipient=" + b"a" * 10_000 + b"\n\n")
        assert await reader.read() == b""
        writer.close()


def test_backend_client_unreachable_is_backend_error() -> None:
    client = BackendClient(api_url=f"http://127.0.0.1:{free_port()}", token="t", timeout=1)
    with pytest.raises(BackendError):
        client.exists_sync("a@b.test")


def test_backend_client_refuses_other_schemes() -> None:
    with pytest.raises(ValueError, match="http"):
        BackendClient(api_url="file:///etc/passwd", token="t")


def test_token_from_env_or_file(tmp_path) -> None:
    assert policy.read_token({"FACTEUR_SERVICE_TOKEN": " abc \n"}) == "abc"
    secret = tmp_path / "token"
    secret.write_text("from-file\n")
    assert policy.read_token({"FACTEUR_SERVICE_TOKEN_FILE": str(secret)}) == "from-file"
    with pytest.raises(SystemExit, match="FACTEUR_SERVICE_TOKEN"):
        policy.read_token({})


def test_cli_daemon_answers_and_stops_on_sigterm() -> None:
    """``facteur-policy`` as a process: the backend is unreachable, so it defers."""
    port = free_port()
    env = {**os.environ, "FACTEUR_SERVICE_TOKEN": "t"}
    env.pop("FACTEUR_SERVICE_TOKEN_FILE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "facteur_mta.policy", "--port", str(port),
         "--api-url", f"http://127.0.0.1:{free_port()}", "--timeout", "1"],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "facteur-policy did not start"
                time.sleep(0.05)
        with sock:
            sock.sendall(request_bytes(RCPT))
            answer = b""
            while not answer.endswith(b"\n\n"):
                chunk = sock.recv(4096)
                assert chunk, answer
                answer += chunk
        assert answer == f"action={UNAVAILABLE}\n\n".encode()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0


def test_cli_refuses_to_start_without_token() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTEUR_SERVICE_TOKEN")}
    result = subprocess.run(
        [sys.executable, "-m", "facteur_mta.policy", "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0 and "FACTEUR_SERVICE_TOKEN" in result.stderr
