"""``facteur-delivery`` as a real process against the test database: both faces,
metrics, one log line a message, and a graceful stop on SIGTERM."""

from __future__ import annotations

import shutil
import signal
import smtplib
import subprocess
import time
from pathlib import Path

import pytest
import requests

from facteur.delivery import replies
from facteur.mail.models import Message
from tests.delivery.blocking import conversation_locked, ingest_waiting
from tests.delivery.conftest import HOST, lmtp_client, lmtp_send, make_mail, reply, smtp_client
from tests.delivery.process import DeliveryProcess, listening
from tests.net import free_port

pytestmark = pytest.mark.slow


class Delivery(DeliveryProcess):
    def __init__(self, log: Path, *args: str) -> None:
        super().__init__(
            log,
            lmtp_port=free_port(),
            smtp_port=free_port(),
            metrics_port=free_port(),
            env={"FACTEUR_MAX_RECIPIENTS": "3"},
            args=args,
        )

    def metric(self, face: str, result: str) -> float:
        text = requests.get(f"http://{HOST}:{self.metrics_port}/metrics", timeout=5).text
        wanted = f'facteur_delivery_recipients_total{{face="{face}",result="{result}"}} '
        line = next((line for line in text.splitlines() if line.startswith(wanted)), None)
        return float(line.split()[-1]) if line else 0.0


@pytest.fixture
def delivery(transactional_db, tmp_path):
    running = []

    def start(*args: str) -> Delivery:
        running.append(Delivery(tmp_path / f"delivery-{len(running)}.log", *args))
        return running[-1]

    yield start
    for process in running:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def test_the_console_script_delivers_and_stops_on_sigterm(delivery, mailboxes):
    service = delivery()
    secret_subject = "Quarterly figures (confidential)"
    with smtp_client(service.smtp_port) as client:
        refused = client.sendmail(
            "carol@elsewhere.test", ["alice@facteur.test"], make_mail(subject=secret_subject)
        )
    assert refused == {}
    assert Message.objects.get(mailbox=mailboxes.alice).subject == secret_subject

    raw = make_mail(subject="Through LMTP")
    with lmtp_client(service.lmtp_port) as client:
        assert lmtp_send(client, ["bob@facteur.test"], raw)[1] == [replies.DELIVERED]
        at_rcpt, at_data = lmtp_send(
            client, ["bob@facteur.test", "nobody@facteur.test", "a.liddell@facteur.test"], raw
        )
        assert at_rcpt == [replies.RECIPIENT_OK, replies.UNKNOWN_RECIPIENT, replies.RECIPIENT_OK]
        assert at_data == [replies.DELIVERED, replies.DELIVERED]  # bob's is a duplicate
        # FACTEUR_MAX_RECIPIENTS=3 came from the environment.
        client.mail("carol@elsewhere.test")
        for address in ["alice@facteur.test"] * 3:
            assert reply(client.rcpt(address)) == replies.RECIPIENT_OK
        assert reply(client.rcpt("bob@facteur.test")) == replies.TOO_MANY_RECIPIENTS
        client.rset()
    assert Message.objects.filter(mailbox=mailboxes.bob, subject="Through LMTP").count() == 1
    assert Message.objects.filter(mailbox=mailboxes.alice, subject="Through LMTP").count() == 1

    assert service.metric("smtp", "accepted") == 1
    assert service.metric("lmtp", "accepted") == 3
    assert service.metric("lmtp", "rejected") == 2  # unknown, and one too many

    assert service.stop(signal.SIGTERM) == 0
    output = service.output()
    assert output.count(" message from 127.0.0.1 size=") == 3  # one line a message...
    assert secret_subject not in output and "alice@" not in output  # ...without contents
    assert "stopped" in output


@pytest.mark.skipif(not shutil.which("swaks"), reason="swaks is not installed")
def test_swaks_as_in_the_docs(delivery, mailboxes):
    service = delivery()
    sent = subprocess.run(
        ["swaks", "--to", "bob@facteur.test", "--server", f"{HOST}:{service.smtp_port}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert f"<-  {replies.DELIVERED}" in sent.stdout
    assert Message.objects.filter(mailbox=mailboxes.bob).count() == 1


def test_sigterm_lets_the_message_in_progress_finish(delivery, mailboxes):
    service = delivery()
    raw = make_mail(subject="Half sent")
    head, tail = raw[:40], raw[40:]
    with smtp_client(service.smtp_port) as client, smtp_client(service.smtp_port) as idle:
        client.mail("carol@elsewhere.test")
        client.rcpt("alice@facteur.test")
        assert client.docmd("DATA")[0] == 354
        client.send(head)
        service.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert service.process.poll() is None  # waiting for the message in progress
        assert not listening(service.smtp_port)  # but taking no new connections
        client.send(tail + b".\r\n")
        assert reply(client.getreply()) == replies.DELIVERED
        assert service.process.wait(timeout=30) == 0
        with pytest.raises(OSError):
            idle.noop()  # idle sessions were closed

    assert Message.objects.get(mailbox=mailboxes.alice).subject == "Half sent"


def test_sigint_while_idle_exits_0(delivery, transactional_db):
    service = delivery()
    assert service.stop(signal.SIGINT) == 0


def test_sigterm_with_a_delivery_stuck_in_the_database_exits_after_the_grace(delivery, mailboxes):
    service = delivery("--stop-grace", "1")
    raw = make_mail(subject="Stuck")
    with conversation_locked(mailboxes.alice, raw):
        client = lmtp_client(service.lmtp_port)
        client.mail("carol@elsewhere.test")
        client.rcpt("alice@facteur.test")
        assert client.docmd("DATA")[0] == 354
        client.send(raw + b".\r\n")
        deadline = time.monotonic() + 30
        while not ingest_waiting():
            assert time.monotonic() < deadline, service.output()
            time.sleep(0.05)
        stopping = time.monotonic()
        assert service.stop(signal.SIGTERM) == 0
        assert time.monotonic() - stopping < 10  # the grace, a second, and the exit
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.getreply()  # no reply: the sender keeps the message
        assert "stuck in the database" in service.output()
    # The stuck transaction died with the process: nothing of it commits.
    time.sleep(0.5)
    assert not Message.objects.exists()

    # The sender's retry stores it once.
    again = delivery()
    with lmtp_client(again.lmtp_port) as client:
        assert lmtp_send(client, ["alice@facteur.test"], raw)[1] == [replies.DELIVERED]
    assert Message.objects.get(mailbox=mailboxes.alice).subject == "Stuck"


def test_metrics_on_an_address_not_of_this_machine_exit_1_naming_it(transactional_db, tmp_path):
    # 192.0.2.1 (TEST-NET-1) is nobody's address: binding it fails before any mail is taken.
    log = tmp_path / "delivery.log"
    with pytest.raises(AssertionError, match=r"192\.0\.2\.1"):
        DeliveryProcess(
            log,
            lmtp_port=free_port(),
            metrics_port=free_port(),
            args=("--metrics-host", "192.0.2.1"),
        )
    assert "facteur-delivery: error: metrics on 192.0.2.1:" in log.read_text()
