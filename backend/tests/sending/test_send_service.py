"""The send service (what the Celery task runs), against an aiosmtpd relay on loopback."""

from __future__ import annotations

import email
from datetime import timedelta

import dkim
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from facteur.blobs.services import blob_read
from facteur.domains.models import DkimKey
from facteur.mail.models import DeliveryStatus, Message, MessageRecipient
from facteur.mail.services.drafts import DraftFields, draft_create
from facteur.sending import services
from tests import factories
from tests.sending.dkim_check import dnsfunc_for
from tests.sending.mx_hosts import add_mx
from tests.sending.smtp_sink import sink  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender_box():
    return factories.mailbox(factories.domain("sender.test"), "chloe")


def _draft(box, **people) -> Message:
    fields = DraftFields(subject="Devis", text_body="Bonjour,\nle devis.\n", **people)
    return draft_create(mailbox=box, fields=fields)


def _queued(draft: Message, django_capture_on_commit_callbacks) -> Message:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = services.message_send_request(draft=draft)
    assert len(callbacks) == 1  # the task, scheduled once the send is committed
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    return message


def _statuses(message: Message) -> dict[str, str]:
    return dict(message.recipients.values_list("email", "delivery_status"))


def test_request_queues_every_recipient_for_after_the_undo_window(sender_box, settings):
    settings.FACTEUR_SEND_UNDO_SECONDS = 30
    draft = _draft(sender_box, to=[{"email": "a@elsewhere.test"}], bcc=[{"email": "b@x.test"}])
    before = timezone.now()
    message = services.message_send_request(draft=draft)
    message.refresh_from_db()
    assert not message.is_draft and message.is_sender
    assert before + timedelta(seconds=30) <= message.send_at
    assert set(_statuses(message).values()) == {DeliveryStatus.QUEUED}
    message.thread.refresh_from_db()
    assert message.thread.sent_count == 1 and message.thread.draft_count == 0
    # Not due yet: the service sends nothing and says when to come back.
    wait = services.message_send(message_id=message.pk)
    assert 25 < wait <= 30
    assert set(_statuses(message).values()) == {DeliveryStatus.QUEUED}


def test_request_refuses_what_cannot_be_sent(sender_box, settings):
    with pytest.raises(ValidationError, match="at least one recipient"):
        services.message_send_request(draft=_draft(sender_box))
    draft = _draft(sender_box, to=[{"email": "a@elsewhere.test"}])
    MessageRecipient.objects.filter(message=draft).update(email="not-an-address")
    with pytest.raises(ValidationError, match="not a valid"):
        services.message_send_request(draft=draft)
    draft = _draft(sender_box, to=[{"email": "a@elsewhere.test"}])
    with pytest.raises(ValidationError, match="future"):
        services.message_send_request(draft=draft, send_at=timezone.now() - timedelta(minutes=1))
    draft.attachments.create(blob=factories.message_create(sender_box).raw_blob, size=4096,
                             content_type="text/plain")  # fmt: skip
    settings.FACTEUR_MAX_MESSAGE_SIZE = 2048
    with pytest.raises(services.MessageTooLarge):
        services.message_send_request(draft=draft)
    draft.refresh_from_db()
    assert draft.is_draft


def test_sends_signed_reply_to_relay_and_delivers_locally(
    sink,  # noqa: F811
    sender_box,
    django_capture_on_commit_callbacks,
):
    local = factories.mailbox(sender_box.domain, "bob")
    original = factories.message_create(sender_box, subject="Réunion")
    Message.objects.filter(pk=original.pk).update(references=["first@elsewhere.test"])
    original.refresh_from_db()
    draft = draft_create(
        mailbox=sender_box,
        reply_to=original,
        fields=DraftFields(
            text_body="Oui.\n",
            to=[{"name": "Alice", "email": "alice@elsewhere.test"}],
            cc=[{"email": local.address}],
            bcc=[{"email": "hidden@elsewhere.test"}],
        ),
    )
    message = _queued(draft, django_capture_on_commit_callbacks)

    assert services.message_send(message_id=message.pk) is None  # nothing left to do

    assert len(sink.received) == 1
    got = sink.received[0]
    assert got.mail_from == sender_box.address
    assert sorted(got.rcpt_tos) == ["alice@elsewhere.test", "hidden@elsewhere.test"]
    key = DkimKey.objects.get(domain=sender_box.domain, is_active=True)
    assert dkim.verify(got.content, dnsfunc=dnsfunc_for(key))
    parsed = email.message_from_bytes(got.content)
    assert parsed["In-Reply-To"] == f"<{original.mime_id}>"
    assert parsed["References"].split() == ["<first@elsewhere.test>", f"<{original.mime_id}>"]
    assert parsed["Bcc"] is None and "hidden@" not in got.content.decode()

    statuses = _statuses(message)
    assert statuses == {
        "alice@elsewhere.test": DeliveryStatus.SENT,
        "hidden@elsewhere.test": DeliveryStatus.SENT,
        local.address: DeliveryStatus.DELIVERED,
    }
    alice = message.recipients.get(email="alice@elsewhere.test")
    assert alice.delivery_message.startswith("250 2.0.0 Ok: queued as SINK1")
    assert alice.delivered_at is not None
    # The sender keeps the composed bytes; the local recipient got the signed ones.
    message.refresh_from_db()
    assert message.raw_blob is not None and message.sent_at is not None
    assert blob_read(blob=message.raw_blob) in got.content
    copy = Message.objects.get(mailbox=local, mime_id=message.mime_id)
    assert not copy.is_sender and copy.thread.inbox_count == 1
    assert dkim.verify(blob_read(blob=copy.raw_blob), dnsfunc=dnsfunc_for(key))

    # A re-run sends nothing again.
    assert services.message_send(message_id=message.pk) is None
    assert len(sink.received) == 1


def test_a_disabled_local_mailbox_refuses_and_the_sender_is_told(
    sender_box, django_capture_on_commit_callbacks
):
    from facteur.domains.models import Mailbox
    from facteur.ingest.recipients import forget_destinations

    retired = factories.mailbox(sender_box.domain, "retired")
    Mailbox.objects.filter(pk=retired.pk).update(is_disabled=True)
    forget_destinations()
    draft = _draft(sender_box, to=[{"email": retired.address}])
    message = _queued(draft, django_capture_on_commit_callbacks)
    assert services.message_send(message_id=message.pk) is None
    recipient = message.recipients.get()
    assert recipient.delivery_status == DeliveryStatus.FAILED
    assert recipient.delivery_message.startswith("550 5.2.1 Mailbox disabled")
    assert not Message.objects.filter(mailbox=retired).exists()


def test_4xx_retries_with_backoff_then_sends(sink, sender_box, django_capture_on_commit_callbacks):  # noqa: F811
    sink.answer(r"^later@", "451 4.3.0 Try again later")
    sink.answer(r"^nobody@", "550 5.1.1 No such user")
    draft = _draft(
        sender_box,
        to=[{"email": "ok@elsewhere.test"}, {"email": "later@elsewhere.test"}],
        cc=[{"email": "nobody@elsewhere.test"}],
    )
    message = _queued(draft, django_capture_on_commit_callbacks)

    wait = services.message_send(message_id=message.pk)
    assert 55 <= wait <= 60  # the first backoff step
    assert _statuses(message) == {
        "ok@elsewhere.test": DeliveryStatus.SENT,
        "later@elsewhere.test": DeliveryStatus.RETRYING,
        "nobody@elsewhere.test": DeliveryStatus.FAILED,
    }
    later = message.recipients.get(email="later@elsewhere.test")
    assert later.retry_count == 1 and later.retry_at > timezone.now()
    assert later.delivery_message == "451 4.3.0 Try again later"
    assert message.recipients.get(email="nobody@elsewhere.test").delivery_message.startswith("550")
    assert [r.rcpt_tos for r in sink.received] == [["ok@elsewhere.test"]]

    # Too early: nothing is due.
    assert services.message_send(message_id=message.pk) > 0
    assert len(sink.received) == 1

    # Later, the relay accepts: only the waiting recipient gets it.
    sink.answer_all_ok()
    MessageRecipient.objects.filter(pk=later.pk).update(retry_at=timezone.now())
    assert services.message_send(message_id=message.pk) is None
    assert [r.rcpt_tos for r in sink.received] == [["ok@elsewhere.test"], ["later@elsewhere.test"]]
    assert _statuses(message)["later@elsewhere.test"] == DeliveryStatus.SENT
    # Same Message-ID and Date: the retry sends the same message.
    first, second = (email.message_from_bytes(r.content) for r in sink.received)
    assert (first["Message-ID"], first["Date"]) == (second["Message-ID"], second["Date"])


def test_backoff_grows_and_gives_up_after_about_two_days(
    sink,  # noqa: F811
    sender_box,
    django_capture_on_commit_callbacks,
):
    assert list(services.BACKOFF_SECONDS[:4]) == [60, 300, 900, 3600]
    assert 1.8 * 86400 < sum(services.BACKOFF_SECONDS) < 2.5 * 86400
    sink.answer(r"^later@", "452 4.2.2 Mailbox full")
    message = _queued(_draft(sender_box, to=[{"email": "later@elsewhere.test"}]),
                      django_capture_on_commit_callbacks)  # fmt: skip
    MessageRecipient.objects.filter(message=message).update(
        retry_count=len(services.BACKOFF_SECONDS), delivery_status=DeliveryStatus.RETRYING
    )
    assert services.message_send(message_id=message.pk) is None
    assert _statuses(message) == {"later@elsewhere.test": DeliveryStatus.FAILED}


def test_relay_unreachable_means_retrying(sender_box, settings, django_capture_on_commit_callbacks):
    from tests.net import free_port

    settings.FACTEUR_SENDING_MODE = "relay"
    settings.FACTEUR_RELAY_HOST = "127.0.0.1"
    settings.FACTEUR_RELAY_PORT = free_port()  # nobody listens
    message = _queued(_draft(sender_box, to=[{"email": "a@elsewhere.test"}]),
                      django_capture_on_commit_callbacks)  # fmt: skip
    assert services.message_send(message_id=message.pk) == pytest.approx(60, abs=5)
    recipient = message.recipients.get()
    assert recipient.delivery_status == DeliveryStatus.RETRYING
    assert "Not handed over" in recipient.delivery_message


def test_direct_mode_sends_to_the_recipient_domains_mx(
    zone,
    farm,
    sender_box,
    django_capture_on_commit_callbacks,
):
    mx_host = farm.sink("127.0.0.2")
    add_mx(zone, "elsewhere.test", (10, "mx.elsewhere.test", "127.0.0.2"))
    message = _queued(_draft(sender_box, to=[{"email": "a@elsewhere.test"}]),
                      django_capture_on_commit_callbacks)  # fmt: skip
    assert services.message_send(message_id=message.pk) is None
    recipient = message.recipients.get()
    assert recipient.delivery_status == DeliveryStatus.SENT
    assert recipient.delivery_message.startswith("250 2.0.0 Ok: queued as SINK1")
    assert [r.rcpt_tos for r in mx_host.received] == [["a@elsewhere.test"]]


def test_cancel_within_the_window_makes_a_draft_again_and_nothing_is_sent(
    sink,  # noqa: F811
    sender_box,
):
    draft = _draft(sender_box, to=[{"email": "a@elsewhere.test"}])
    message = services.message_send_request(draft=draft)
    message = services.message_send_cancel(message=message)
    message.refresh_from_db()
    assert message.is_draft and message.send_at is None
    assert set(_statuses(message).values()) == {""}
    message.thread.refresh_from_db()
    assert message.thread.draft_count == 1 and message.thread.sent_count == 0
    # The task scheduled for the end of the window finds a draft: nothing happens.
    assert services.message_send(message_id=message.pk) is None
    assert sink.received == []
    with pytest.raises(services.SendNotCancellable):
        services.message_send_cancel(message=message)


def test_cancel_after_the_window_is_refused(sink, sender_box, django_capture_on_commit_callbacks):  # noqa: F811
    message = _queued(_draft(sender_box, to=[{"email": "a@elsewhere.test"}]),
                      django_capture_on_commit_callbacks)  # fmt: skip
    with pytest.raises(services.SendNotCancellable):
        services.message_send_cancel(message=message)
    services.message_send(message_id=message.pk)
    assert len(sink.received) == 1
