"""Delivery reports arriving by mail (asynchronous bounces): hand-written Postfix- and
Exim-style DSNs go through the real ingest, then the report is applied to the sent message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker

from facteur import celery_app
from facteur.delivery.handler import DeliveryHandler
from facteur.delivery.server import DeliveryServer, Listener
from facteur.ingest.services import ingest_message
from facteur.mail.models import DeliveryStatus, Message, MessageRecipient
from facteur.sending import delivery_reports, services, tasks  # noqa: F401  (tasks: registered)
from facteur.sending.delivery_reports import is_delivery_report, read_report, report_received
from tests import factories
from tests.delivery.conftest import RunningServer, lmtp_client, lmtp_send
from tests.sending import outbound
from tests.sending.smtp_sink import sink  # noqa: F401  (fixture)
from tests.waiting import wait_until

FIXTURES = Path(__file__).parent / "fixtures"
SENT_ID = "4f1c2a9e-5b7d-4c3e-9a21-7d0e8b6f3c55@sender.test"
FAILED_DIAGNOSTIC = (
    "550 5.1.1 <alice@elsewhere.test>: Recipient address rejected: "
    "User unknown in local recipient table"
)


def fixture(name: str) -> bytes:
    """A fixture as it arrives over LMTP: CRLF line endings."""
    return (FIXTURES / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def box(db):
    return factories.mailbox(factories.domain("sender.test"), "chloe")


@pytest.fixture
def sent(sink, box, django_capture_on_commit_callbacks) -> Message:  # noqa: F811
    """Chloé's "Devis" to alice and bob (To) and carol (Cc): the relay accepted all three."""
    draft = outbound.draft(
        box,
        mime_id=SENT_ID,
        to=[{"name": "Alice", "email": "alice@elsewhere.test"}, {"email": "bob@elsewhere.test"}],
        cc=[{"email": "carol@far.test"}],
    )
    message = outbound.queued_and_due(draft, django_capture_on_commit_callbacks)
    assert services.message_send(message_id=message.pk) is None
    assert set(outbound.statuses(message).values()) == {DeliveryStatus.SENT}
    return message


def _deliver(raw: bytes, to: str, capture) -> tuple[Message, list]:
    """Ingest ``raw`` for ``to``; the stored copy and the report tasks it queued."""
    with capture(execute=False) as callbacks:
        result = ingest_message(raw=raw, recipients=[to])
    [outcome] = result.recipients
    queued = [c for c in callbacks if getattr(c, "func", None) is report_received]
    return Message.objects.get(pk=outcome.message_id), queued


def _apply(raw: bytes, to: str, capture) -> str:
    stored, queued = _deliver(raw, to, capture)
    assert len(queued) == 1  # ingest noticed a report and queued its reading
    return delivery_reports.delivery_report_apply(message_id=stored.pk)


pytestmark = pytest.mark.django_db


def test_postfix_failure_marks_the_recipient_failed(sent, django_capture_on_commit_callbacks):
    report = read_report(fixture("postfix_failed.eml"))
    assert report.original_mime_id == SENT_ID
    [entry] = report.recipients
    assert (entry.action, entry.status) == ("failed", "5.1.1")

    assert (
        _apply(
            fixture("postfix_failed.eml"), "chloe@sender.test", django_capture_on_commit_callbacks
        )
        == "1 updated"
    )
    assert outbound.statuses(sent) == {
        "alice@elsewhere.test": DeliveryStatus.FAILED,
        "bob@elsewhere.test": DeliveryStatus.SENT,
        "carol@far.test": DeliveryStatus.SENT,
    }
    alice = sent.recipients.get(email="alice@elsewhere.test")
    assert alice.delivery_message == FAILED_DIAGNOSTIC
    # The same report again (another copy, a retried task) changes nothing more.
    stored = Message.objects.filter(mailbox=sent.mailbox, mime_id__startswith="20261124101502")
    assert delivery_reports.delivery_report_apply(message_id=stored.get().pk) == "0 updated"


def test_exim_failure_matches_the_address_whatever_its_case(
    sent, django_capture_on_commit_callbacks
):
    assert (
        _apply(fixture("exim_failed.eml"), "chloe@sender.test", django_capture_on_commit_callbacks)
        == "1 updated"
    )
    carol = sent.recipients.get(email="carol@far.test")
    assert carol.delivery_status == DeliveryStatus.FAILED
    assert carol.delivery_message == "550 5.7.1 <Carol@Far.test>: Relaying denied"
    # Exim's report says References: it joins the sent message's thread.
    notice = Message.objects.get(mailbox=sent.mailbox, sender_email="mailer-daemon@relay.isp.test")
    assert notice.thread_id == sent.thread_id


def test_delayed_keeps_the_status_and_notes_the_reason(sent, django_capture_on_commit_callbacks):
    assert (
        _apply(
            fixture("postfix_delayed.eml"), "chloe@sender.test", django_capture_on_commit_callbacks
        )
        == "1 updated"
    )
    bob = sent.recipients.get(email="bob@elsewhere.test")
    assert bob.delivery_status == DeliveryStatus.SENT
    assert bob.delivery_message == (
        "Delayed: connect to mx.elsewhere.test[192.0.2.25]:25: Connection timed out"
    )


@pytest.mark.parametrize("action", ["delivered", "relayed", "expanded"])
def test_success_actions_change_nothing(sent, action, django_capture_on_commit_callbacks):
    raw = fixture("postfix_failed.eml").replace(b"Action: failed", f"Action: {action}".encode())
    assert _apply(raw, "chloe@sender.test", django_capture_on_commit_callbacks) == "0 updated"
    assert set(outbound.statuses(sent).values()) == {DeliveryStatus.SENT}


def test_a_report_touches_only_the_mailbox_it_was_delivered_to(
    sent, django_capture_on_commit_callbacks
):
    # Another mailbox that sent a message with the same Message-ID (forged or not),
    # and one that received Chloé's message.
    other_box = factories.mailbox(factories.domain("other.test"), "dave")
    twin = outbound.queued_and_due(
        outbound.draft(other_box, mime_id=SENT_ID, to=[{"email": "alice@elsewhere.test"}]),
        django_capture_on_commit_callbacks,
    )
    services.message_send(message_id=twin.pk)
    reader = factories.mailbox(factories.domain("reader.test"), "erin")
    ingest_message(
        raw=fixture("postfix_failed.eml").split(b"message/rfc822\r\n\r\n")[1],
        recipients=[reader.address],
    )

    # Delivered to the reader: it sent nothing with that id, nothing changes anywhere.
    assert (
        _apply(fixture("postfix_failed.eml"), reader.address, django_capture_on_commit_callbacks)
        == "no match"
    )
    # Delivered to Dave: only Dave's message changes.
    assert (
        _apply(fixture("postfix_failed.eml"), other_box.address, django_capture_on_commit_callbacks)
        == "1 updated"
    )
    assert outbound.statuses(twin) == {"alice@elsewhere.test": DeliveryStatus.FAILED}
    assert set(outbound.statuses(sent).values()) == {DeliveryStatus.SENT}


def test_only_recipients_the_relay_accepted_can_bounce(sent, django_capture_on_commit_callbacks):
    MessageRecipient.objects.filter(message=sent, email="alice@elsewhere.test").update(
        delivery_status=DeliveryStatus.DELIVERED
    )
    assert (
        _apply(
            fixture("postfix_failed.eml"), "chloe@sender.test", django_capture_on_commit_callbacks
        )
        == "0 updated"
    )
    assert outbound.statuses(sent)["alice@elsewhere.test"] == DeliveryStatus.DELIVERED


def _malformed() -> dict[str, bytes]:
    good = fixture("postfix_failed.eml")
    status_part = re.compile(rb"Reporting-MTA:.*?(?=\r\n--7A1B)", re.DOTALL)
    return {
        "truncated": good[: len(good) // 2],
        "no original part": good.split(
            b"--7A1B2C3D4E.1795515302/mta-out.sender.test\r\nContent-Description: Undelivered"
        )[0],
        "garbage status": status_part.sub(b"\x00\xff\xfe not: fields\r\n::::\r\n\r\n;;;", good),
        "no address": good.replace(b"rfc822; alice@elsewhere.test", b"rfc822; <>").replace(
            b"rfc822;alice@elsewhere.test", b"x-unknown; ???"
        ),
        "other report type": good.replace(
            b"report-type=delivery-status", b"report-type=disposition-notification"
        ),
        "no boundary": good.replace(
            b'\tboundary="7A1B2C3D4E.1795515302/mta-out.sender.test"', b"\tx=y"
        ),
        "nested too deep": b"Content-Type: multipart/report; report-type=delivery-status; "
        b'boundary="b0"\r\n\r\n'
        + b"".join(
            b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
            for i in range(3000)
        ),
        "not mail": bytes(range(256)) * 40,
        "unknown message": good.replace(SENT_ID.encode(), b"someone-else@sender.test"),
        "huge diagnostic": good.replace(b"User unknown in", b"x" * 200_000 + b" in"),
    }


@pytest.mark.parametrize("case", list(_malformed()))
def test_malformed_or_forged_reports_change_nothing_and_never_raise(
    sent, case, django_capture_on_commit_callbacks
):
    raw = _malformed()[case]
    stored, _ = _deliver(raw, "chloe@sender.test", django_capture_on_commit_callbacks)
    result = delivery_reports.delivery_report_apply(message_id=stored.pk)
    if case == "huge diagnostic":  # readable: applied, the reply kept within bounds
        assert result == "1 updated"
        alice = sent.recipients.get(email="alice@elsewhere.test")
        assert len(alice.delivery_message) == delivery_reports.DIAGNOSTIC_LIMIT
        return
    assert result in {"unreadable", "no match", "0 updated"}
    assert set(outbound.statuses(sent).values()) == {DeliveryStatus.SENT}


def test_ingest_queues_a_reading_only_for_reports(box, django_capture_on_commit_callbacks):
    plain = b"From: a@elsewhere.test\r\nTo: chloe@sender.test\r\nSubject: hi\r\n\r\nhello\r\n"
    _, queued = _deliver(plain, box.address, django_capture_on_commit_callbacks)
    assert queued == []
    _, queued = _deliver(
        fixture("exim_failed.eml"), box.address, django_capture_on_commit_callbacks
    )
    assert len(queued) == 1
    # A retried delivery of the same bytes stores nothing and queues nothing.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest_message(raw=fixture("exim_failed.eml"), recipients=[box.address])
    assert not [c for c in callbacks if getattr(c, "func", None) is report_received]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('multipart/report; report-type=delivery-status; boundary="x"', True),
        ('Multipart/Report;\r\n\tboundary=x;\r\n\tREPORT-TYPE="Delivery-Status"', True),
        ("multipart/report; report-type=disposition-notification", False),
        ("multipart/mixed; report-type=delivery-status", False),
        ("text/plain", False),
    ],
)
def test_is_delivery_report(value, expected):
    assert is_delivery_report([["Subject", "x"], ["Content-Type", value]]) is expected


@pytest.mark.django_db(transaction=True)
def test_a_dsn_over_lmtp_reaches_the_worker_and_fails_the_recipient(sink, settings):  # noqa: F811
    """MTA-out's DSN, over LMTP to the real delivery service, null sender; a real worker."""
    box = factories.mailbox(factories.domain("sender.test"), "chloe")
    draft = outbound.draft(box, mime_id=SENT_ID, to=[{"email": "alice@elsewhere.test"}])
    settings.FACTEUR_SEND_UNDO_SECONDS = 0
    message = services.message_send_request(draft=draft)
    server = RunningServer(
        DeliveryServer(
            handler=DeliveryHandler(max_recipients=10),
            listeners=[Listener("lmtp", "127.0.0.1", 0)],
            data_size_limit=settings.FACTEUR_MAX_MESSAGE_SIZE,
            hostname="delivery.test",
        )
    )
    try:
        with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
            recipient = message.recipients.get()
            assert wait_until(
                lambda: MessageRecipient.objects.get(pk=recipient.pk).delivery_status == "sent"
            )
            client = lmtp_client(server.bound["lmtp"][1])
            at_rcpt, at_data = lmtp_send(
                client, ["chloe@sender.test"], fixture("postfix_failed.eml"), sender=""
            )
            client.quit()
            assert at_rcpt == ["250 2.1.5 Recipient OK"] and at_data[0].startswith("250")
            assert wait_until(
                lambda: MessageRecipient.objects.get(pk=recipient.pk).delivery_status == "failed"
            )
    finally:
        server.stop()
    assert MessageRecipient.objects.get(pk=recipient.pk).delivery_message == FAILED_DIAGNOSTIC
