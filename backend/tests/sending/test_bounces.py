"""Bounce notices: a send run that turns recipients ``failed`` puts one RFC 3464 report
into the sender's mailbox (real relay on loopback, real ingest, read back through the API)."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from django.test import Client
from django.utils import timezone

from facteur.blobs.services import blob_read
from facteur.domains import services as domain_services
from facteur.mail.models import DeliveryStatus, Message, MessageRecipient
from facteur.sending import bounces, delivery_reports, services
from tests import factories
from tests.sending import outbound
from tests.sending.smtp_sink import sink  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def box():
    return domain_services.mailbox_create(
        domain=factories.domain("sender.test"), local_part="chloe", display_name="Chloé Dupré"
    )


def _notices(box) -> list[Message]:
    return list(Message.objects.filter(mailbox=box, sender_email="mailer-daemon@sender.test"))


def _parts(notice: Message):
    parsed = email.message_from_bytes(blob_read(blob=notice.raw_blob), policy=policy.default)
    return parsed, list(parsed.iter_parts())


def test_a_5xx_makes_one_notice_in_the_senders_inbox(
    sink,  # noqa: F811
    box,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.FACTEUR_SMTP_HELO_NAME = "out.sender.test"
    sink.answer(r"^nobody@", "550 5.1.1 <nobody@elsewhere.test>: No such user here")
    sink.answer(r"^gone@", "554 Mailbox disabled")  # no enhanced code
    draft = outbound.draft(
        box,
        subject="Réunion de lundi",
        to=[{"email": "ok@elsewhere.test"}, {"email": "nobody@elsewhere.test"}],
        bcc=[{"email": "gone@elsewhere.test"}],
    )
    message = outbound.queued_and_due(draft, django_capture_on_commit_callbacks)

    assert services.message_send(message_id=message.pk) is None
    assert outbound.statuses(message) == {
        "ok@elsewhere.test": DeliveryStatus.SENT,
        "nobody@elsewhere.test": DeliveryStatus.FAILED,
        "gone@elsewhere.test": DeliveryStatus.FAILED,
    }
    [notice] = _notices(box)
    message.refresh_from_db()

    # Stored like received mail: in the sent message's thread, in the inbox, unread.
    assert notice.thread_id == message.thread_id
    assert not notice.is_sender and notice.in_reply_to == message.mime_id
    notice.thread.refresh_from_db()
    assert notice.thread.inbox_count == 1 and notice.thread.sent_count == 1
    assert notice.subject == "Delivery failed: Réunion de lundi"
    assert notice.sender_name == "Mail Delivery System"

    parsed, parts = _parts(notice)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "delivery-status"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["To"] == "Chloé Dupré <chloe@sender.test>"
    assert parsed["References"] == f"<{message.mime_id}>"
    assert notice.mime_id == bounces.notice_mime_id(
        message=message, emails=["nobody@elsewhere.test", "gone@elsewhere.test"]
    )
    assert [p.get_content_type() for p in parts] == [
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    text = parts[0].get_content()
    assert "<nobody@elsewhere.test>" in text and "<gone@elsewhere.test>" in text
    assert "550 5.1.1 <nobody@elsewhere.test>: No such user here" in text
    assert "ok@elsewhere.test" not in text
    assert "Réunion de lundi" in text

    per_message, *per_recipient = parts[1].get_payload()
    assert per_message["Reporting-MTA"] == "dns; out.sender.test"
    arrival = email.utils.parsedate_to_datetime(per_message["Arrival-Date"])
    assert arrival == message.sent_at.replace(microsecond=0)
    fields = {
        b["Final-Recipient"]: (b["Action"], b["Status"], b["Diagnostic-Code"])
        for b in per_recipient
    }
    assert fields == {
        "rfc822; nobody@elsewhere.test": (
            "failed",
            "5.1.1",
            "smtp; 550 5.1.1 <nobody@elsewhere.test>: No such user here",
        ),
        "rfc822; gone@elsewhere.test": ("failed", "5.0.0", "smtp; 554 Mailbox disabled"),
    }
    original = email.message_from_string(parts[2].get_content(), policy=policy.default)
    assert original["Message-ID"] == f"<{message.mime_id}>"
    assert original["Subject"] == "Réunion de lundi"
    assert original["Bcc"] is None  # the headers that left, not the envelope

    # The report reads back as what it says, and applying it changes nothing more.
    report = delivery_reports.read_report(blob_read(blob=notice.raw_blob))
    assert report.original_mime_id == message.mime_id
    assert {r.addresses[0] for r in report.recipients} == {
        "nobody@elsewhere.test",
        "gone@elsewhere.test",
    }
    assert delivery_reports.delivery_report_apply(message_id=notice.pk) == "0 updated"

    # A re-run finds nothing to send and makes no second notice.
    assert services.message_send(message_id=message.pk) is None
    assert len(_notices(box)) == 1


def test_the_notice_is_idempotent_for_the_same_recipients(
    sink,  # noqa: F811
    box,
    django_capture_on_commit_callbacks,
):
    sink.answer(r"^nobody@", "550 5.1.1 No such user")
    message = outbound.queued_and_due(
        outbound.draft(box, to=[{"email": "nobody@elsewhere.test"}]),
        django_capture_on_commit_callbacks,
    )
    services.message_send(message_id=message.pk)
    failed = list(message.recipients.all())
    # As a run that stopped after storing the notice and ran again would do:
    assert bounces.bounce_notice_deliver(message=message, recipients=failed) is False
    assert len(_notices(box)) == 1
    # Another set of failed recipients is another notice.
    other = MessageRecipient.objects.create(
        message=message,
        kind="cc",
        email="other@elsewhere.test",
        delivery_status=DeliveryStatus.FAILED,
        delivery_message="550 5.7.1 Refused",
    )
    assert bounces.bounce_notice_deliver(message=message, recipients=[other]) is True
    assert len(_notices(box)) == 2


def test_retries_exhausted_report_an_expired_delivery(
    sink,  # noqa: F811
    box,
    django_capture_on_commit_callbacks,
):
    sink.answer(r"^full@", "452 4.2.2 Mailbox full")
    message = outbound.queued_and_due(
        outbound.draft(box, to=[{"email": "full@elsewhere.test"}]),
        django_capture_on_commit_callbacks,
    )
    MessageRecipient.objects.filter(message=message).update(
        retry_count=len(services.BACKOFF_SECONDS), delivery_status=DeliveryStatus.RETRYING
    )
    assert services.message_send(message_id=message.pk) is None
    assert outbound.statuses(message) == {"full@elsewhere.test": DeliveryStatus.FAILED}
    [notice] = _notices(box)
    _, parts = _parts(notice)
    [block] = parts[1].get_payload()[1:]
    assert (block["Action"], block["Status"]) == ("failed", "5.4.7")
    assert block["Diagnostic-Code"] == "smtp; 452 4.2.2 Mailbox full"
    assert "about two days" in parts[0].get_content()


def test_a_4xx_or_a_success_makes_no_notice(sink, box, django_capture_on_commit_callbacks):  # noqa: F811
    sink.answer(r"^later@", "451 4.3.0 Try again later")
    message = outbound.queued_and_due(
        outbound.draft(box, to=[{"email": "later@elsewhere.test"}, {"email": "ok@elsewhere.test"}]),
        django_capture_on_commit_callbacks,
    )
    services.message_send(message_id=message.pk)
    assert _notices(box) == []


def test_notice_shows_in_the_thread_list_through_the_api(
    sink,  # noqa: F811
    box,
    django_capture_on_commit_callbacks,
):
    user = factories.user()
    domain_services.access_grant(mailbox=box, user=user, role="sender")
    client = Client()
    client.force_login(user)
    sink.answer(r"^nobody@", "550 5.1.1 No such user")
    draft_id = client.post(
        "/api/v1.0/drafts/",
        {
            "mailbox": str(box.pk),
            "subject": "Devis",
            "text_body": "Voici.\n",
            "to": [{"email": "nobody@elsewhere.test"}],
        },
        content_type="application/json",
    ).json()["id"]
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(f"/api/v1.0/drafts/{draft_id}/send/").status_code == 202
    message = Message.objects.get(pk=draft_id)
    Message.objects.filter(pk=draft_id).update(send_at=timezone.now() - timedelta(seconds=1))
    services.message_send(message_id=draft_id)

    inbox = client.get(f"/api/v1.0/threads/?mailbox={box.pk}&view=inbox").json()["results"]
    assert [(t["id"], t["unread_count"], t["message_count"]) for t in inbox] == [
        (str(message.thread_id), 1, 2)
    ]
    messages = client.get(f"/api/v1.0/threads/{message.thread_id}/messages/").json()
    by_id = {m["id"]: m for m in messages}
    sent = by_id[draft_id]
    [recipient] = sent["recipients"]
    assert recipient["delivery_status"] == "failed"
    assert recipient["delivery_message"] == "550 5.1.1 No such user"
    assert recipient["retry_at"] is None and sent["send_at"] is not None
    [notice] = [m for m in messages if m["id"] != draft_id]
    assert notice["sender"] == {
        "name": "Mail Delivery System",
        "email": "mailer-daemon@sender.test",
    }
    assert notice["is_unread"] is True and notice["in_reply_to"] == message.mime_id
