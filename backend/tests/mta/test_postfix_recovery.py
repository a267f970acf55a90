"""Nothing Postfix accepted is lost, nothing is stored twice: a real MTA-in Postfix in
front of the real ``facteur-delivery`` process, which is stopped or SIGKILLed at the
worst moments.

Each case sends by SMTP to Postfix (250: Postfix owns the message), breaks the
delivery service, checks that Postfix kept the message (deferred, ``postqueue -j``)
and that nothing is committed, then brings the service back, flushes the queue
(``postqueue -f``) and checks that every mailbox holds exactly one copy, Postfix's
queue is empty and nothing is half-stored.

To stop ingest inside its transaction deterministically, the test holds the
advisory lock ingest takes for the conversation (``tests.delivery.blocking``).
"""

from __future__ import annotations

import json
import re
import signal
import smtplib
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from facteur.blobs.services import blob_read
from facteur.domains.models import Mailbox
from facteur.mail.models import Message
from tests import factories
from tests.delivery.blocking import conversation_locked, ingest_waiting
from tests.delivery.process import DeliveryProcess
from tests.mta import postfix_instance
from tests.mta.policy_service import TOKEN, PolicyThread
from tests.net import free_port
from tests.stored import assert_nothing_half_stored, copies

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not postfix_instance.postfix_available(), reason="needs Postfix as root (scripts/peers)"
    ),
]

SENDER = "alice@elsewhere.test"
POSTQUEUE = "/usr/sbin/postqueue"
POSTSUPER = "/usr/sbin/postsuper"
WAIT = 60.0


def wait_for(what: str, check: Callable[[], object], timeout: float = WAIT) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Queue:
    """Postfix's queue of one instance, through its own commands."""

    def __init__(self, instance: postfix_instance.Instance) -> None:
        self.instance = instance
        self.config = str(instance.config)

    def entries(self) -> list[dict]:
        result = subprocess.run(
            [POSTQUEUE, "-c", self.config, "-j"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def deferred(self, queue_id: str) -> dict | None:
        """The message, once Postfix has given up this attempt and deferred it."""
        return next(
            (
                e
                for e in self.entries()
                if e["queue_id"] == queue_id and e["queue_name"] == "deferred"
            ),
            None,
        )

    def flush(self) -> None:
        subprocess.run([POSTQUEUE, "-c", self.config, "-f"], check=True, timeout=30)

    def empty(self) -> bool:
        return not self.entries()

    def delete_all(self) -> None:
        subprocess.run([POSTSUPER, "-c", self.config, "-d", "ALL"], capture_output=True,
                       timeout=30)  # fmt: skip


@pytest.fixture(scope="module")
def policy_service(live_server) -> Iterator[PolicyThread]:
    service = PolicyThread(live_server.url)
    service.up()
    yield service
    service.close()


@pytest.fixture(scope="module")
def lmtp_port() -> int:
    """Where Postfix delivers; the delivery service is started there (or not) per test."""
    return free_port()


@pytest.fixture(scope="module")
def mta(lmtp_port, policy_service) -> Iterator[postfix_instance.Instance]:
    values = {
        "myhostname": "mx.tenant.test",
        "domains": "tenant.test",
        "lmtp_target": f"127.0.0.1:{lmtp_port}",
        "policy_service": f"127.0.0.1:{policy_service.port}",
    }
    with postfix_instance.running(values) as instance:
        yield instance


@pytest.fixture
def queue(mta) -> Iterator[Queue]:
    queue = Queue(mta)
    yield queue
    queue.delete_all()  # a failed case must not leave mail for the next one


@pytest.fixture
def delivery(transactional_db, tmp_path, lmtp_port) -> Iterator[Callable[..., DeliveryProcess]]:
    """``delivery(*args)`` starts ``facteur-delivery`` (LMTP face only) on Postfix's target."""
    started: list[DeliveryProcess] = []

    def start(*args: str) -> DeliveryProcess:
        started.append(DeliveryProcess(tmp_path / "delivery.log", lmtp_port=lmtp_port, args=args))
        return started[-1]

    yield start
    for process in started:
        process.kill()


@pytest.fixture(autouse=True)
def mailboxes(settings, transactional_db) -> tuple[Mailbox, Mailbox]:
    settings.FACTEUR_SERVICE_TOKEN = TOKEN
    domain = factories.domain("tenant.test")
    return factories.mailbox(domain, "contact"), factories.mailbox(domain, "support")


def mail(subject: str, body: str = "Hello over LMTP\r\n") -> bytes:
    return (
        f"From: Alice <{SENDER}>\r\nTo: contact@tenant.test, support@tenant.test\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4()}@elsewhere.test>\r\n"
        f"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n{body}"
    ).encode()


def submit(instance: postfix_instance.Instance, recipients: list[str], raw: bytes) -> str:
    """Hand ``raw`` to Postfix by SMTP; returns its queue id once Postfix answered 250."""
    with smtplib.SMTP("127.0.0.1", instance.smtp_port, local_hostname="client.example.test",
                      timeout=60) as client:  # fmt: skip
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        for address in recipients:
            assert client.rcpt(address)[0] == 250, address
        code, text = client.data(raw)
    assert code == 250, (code, text)
    return re.search(rb"queued as (\w+)", text).group(1).decode()


def statuses(instance: postfix_instance.Instance, queue_id: str) -> list[str]:
    """What Postfix logged of each delivery attempt of ``queue_id``, in order."""
    return re.findall(rf"{queue_id}: to=<[^>]+>,.* status=(\w+)", instance.log)


def assert_retried_then_sent(instance: postfix_instance.Instance, queue_id: str, n: int) -> None:
    """Each of the ``n`` recipients: deferred (never bounced), then sent exactly once."""
    wait_for("Postfix's log", lambda: statuses(instance, queue_id).count("sent") == n, 10)
    assert statuses(instance, queue_id) == ["deferred"] * n + ["sent"] * n


def delivered(queue: Queue, expected: list[tuple[Mailbox, str]]) -> Callable[[], bool]:
    return lambda: queue.empty() and all(copies(box, subject) for box, subject in expected)


def test_service_stopped_postfix_keeps_the_message(mta, queue, delivery, mailboxes):
    contact, _ = mailboxes
    subject = "while the delivery service is down"
    queue_id = submit(mta, ["contact@tenant.test"], mail(subject))

    entry = wait_for("the message deferred", lambda: queue.deferred(queue_id))
    assert "Connection refused" in entry["recipients"][0]["delay_reason"], entry
    assert copies(contact, subject) == 0

    delivery()
    # Mail arriving now goes straight through: the refused connection did not leave
    # the destination marked dead. The deferred message waits for its backoff
    # (minimal_backoff_time, 300 s by default) or a flush.
    after = "after the delivery service came back"
    submit(mta, ["contact@tenant.test"], mail(after))
    wait_for("the new message delivered", lambda: copies(contact, after))
    assert queue.deferred(queue_id) and copies(contact, subject) == 0

    flushed = time.monotonic()
    queue.flush()
    wait_for("delivery after the flush", delivered(queue, [(contact, subject)]))
    assert time.monotonic() - flushed < 30  # no backoff sat out
    time.sleep(0.5)  # a second copy would have to come now, if at all
    assert copies(contact, subject) == 1
    assert queue.empty()
    assert_retried_then_sent(mta, queue_id, 1)
    assert_nothing_half_stored()


def test_sigkill_inside_the_transaction_commits_nothing(mta, queue, delivery, mailboxes):
    contact, _ = mailboxes
    subject = "killed while storing"
    raw = mail(subject)
    service = delivery()
    with conversation_locked(contact, raw):
        queue_id = submit(mta, ["contact@tenant.test"], raw)
        wait_for("ingest blocked in its transaction", ingest_waiting)
        service.kill()
        entry = wait_for("the message deferred", lambda: queue.deferred(queue_id))
        assert "lost connection" in entry["recipients"][0]["delay_reason"], entry
        assert copies(contact, subject) == 0
        delivery()
    queue.flush()
    wait_for("delivery after the restart", delivered(queue, [(contact, subject)]))
    time.sleep(0.5)
    assert copies(contact, subject) == 1
    assert queue.empty()
    assert_retried_then_sent(mta, queue_id, 1)
    assert_nothing_half_stored()


def test_sigterm_with_ingest_stuck_stops_after_the_grace(mta, queue, delivery, mailboxes):
    contact, _ = mailboxes
    subject = "stopped while stuck"
    raw = mail(subject)
    service = delivery("--stop-grace", "1")
    with conversation_locked(contact, raw):
        queue_id = submit(mta, ["contact@tenant.test"], raw)
        wait_for("ingest blocked in its transaction", ingest_waiting)
        stopping = time.monotonic()
        assert service.stop(signal.SIGTERM) == 0
        assert time.monotonic() - stopping < 10  # the grace, a second, and the exit
        entry = wait_for("the message deferred", lambda: queue.deferred(queue_id))
        assert "lost connection" in entry["recipients"][0]["delay_reason"], entry
        delivery()
    queue.flush()
    wait_for("delivery after the restart", delivered(queue, [(contact, subject)]))
    time.sleep(0.5)
    assert copies(contact, subject) == 1
    assert queue.empty()
    assert_retried_then_sent(mta, queue_id, 1)
    assert_nothing_half_stored()


def test_sigkill_between_two_mailboxes_stores_each_copy_once(mta, queue, delivery, mailboxes):
    contact, support = mailboxes
    subject = "killed between two mailboxes"
    raw = mail(subject)
    first = delivery()
    # Ingest writes both copies in one transaction (the delivery service's group commit):
    # contact's copy is written, support's waits for its conversation lock. The LMTP
    # replies come only after the commit: Postfix has none.
    with conversation_locked(support, raw):
        queue_id = submit(mta, ["contact@tenant.test", "support@tenant.test"], raw)
        wait_for("ingest blocked on support's copy", ingest_waiting)
        first.kill()
        entry = wait_for("the message deferred", lambda: queue.deferred(queue_id))
        # Both recipients stay queued: Postfix got no reply for either...
        assert sorted(r["address"] for r in entry["recipients"]) == [
            "contact@tenant.test",
            "support@tenant.test",
        ]
        # ...and neither copy was committed: all or nothing.
        assert (copies(contact, subject), copies(support, subject)) == (0, 0)
        second = delivery()
    queue.flush()
    wait_for(
        "delivery after the restart",
        delivered(queue, [(contact, subject), (support, subject)]),
    )
    time.sleep(0.5)
    assert (copies(contact, subject), copies(support, subject)) == (1, 1)
    assert " stored=2 duplicate=0 " in second.output()
    assert queue.empty()
    assert_retried_then_sent(mta, queue_id, 2)
    assert_nothing_half_stored()


def consumed_by_service(port: int) -> int | None:
    """Bytes the service has read from Postfix's LMTP connection (received minus still
    queued in the kernel), or None without such a connection."""
    result = subprocess.run(
        ["ss", "-tniH", "state", "established", f"( sport = :{port} )"],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    if len(lines) < 2:
        return None
    recv_q = int(lines[0].split()[0])
    received = re.search(r"bytes_received:(\d+)", lines[1])
    return int(received.group(1)) - recv_q if received else 0


def test_sigkill_while_a_large_message_streams_in(mta, queue, delivery, mailboxes, lmtp_port):
    contact, _ = mailboxes
    subject = "killed while 20 MB stream in"
    line = "x" * 76 + "\r\n"
    body = line * (20 * 1024 * 1024 // len(line)) + "the end\r\n"
    raw = mail(subject, body)
    service = delivery()
    queue_id = submit(mta, ["contact@tenant.test"], raw)
    # Stop the service once a megabyte is in, and check, while it cannot move, that it
    # is still inside DATA; then kill it.
    deadline = time.monotonic() + WAIT
    while (consumed_by_service(lmtp_port) or 0) < 1024 * 1024:  # polled without a pause
        assert time.monotonic() < deadline, "no DATA streaming in"
    service.process.send_signal(signal.SIGSTOP)
    consumed = consumed_by_service(lmtp_port)
    assert consumed is not None and consumed < len(raw), (consumed, len(raw))
    service.kill()
    entry = wait_for("the message deferred", lambda: queue.deferred(queue_id))
    assert "lost connection" in entry["recipients"][0]["delay_reason"], entry
    assert copies(contact, subject) == 0

    delivery()
    queue.flush()
    wait_for("delivery after the restart", delivered(queue, [(contact, subject)]))
    message = Message.objects.get(mailbox=contact, subject=subject)
    stored = blob_read(blob=message.raw_blob)
    assert stored.endswith(raw[-len(body) :])  # Postfix's Received header, then ours whole
    assert queue.empty()
    assert_retried_then_sent(mta, queue_id, 1)
    assert_nothing_half_stored()
