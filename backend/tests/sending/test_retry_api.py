"""POST /messages/{id}/retry-send/: failed and waiting recipients are queued again and sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from facteur.domains import services as domain_services
from facteur.mail.models import DeliveryStatus, Message, MessageRecipient
from facteur.sending import services
from tests import factories
from tests.sending import outbound
from tests.sending.smtp_sink import sink  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
API = "/api/v1.0"


@pytest.fixture
def box():
    return factories.mailbox(factories.domain("retry.test"), "team", shared=True)


def _client(box, role: str) -> Client:
    user = factories.user()
    domain_services.access_grant(mailbox=box, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def _retry(client: Client, message: Message):
    return client.post(f"{API}/messages/{message.pk}/retry-send/")


@pytest.fixture
def bounced(sink, box, django_capture_on_commit_callbacks) -> Message:  # noqa: F811
    """Sent to three: ok@ accepted, nobody@ refused (550), later@ waiting (451)."""
    sink.answer(r"^nobody@", "550 5.1.1 No such user")
    sink.answer(r"^later@", "451 4.3.0 Try again later")
    message = outbound.queued_and_due(
        outbound.draft(
            box, to=[{"email": f"{who}@elsewhere.test"} for who in ("ok", "nobody", "later")]
        ),
        django_capture_on_commit_callbacks,
    )
    services.message_send(message_id=message.pk)
    assert outbound.statuses(message) == {
        "ok@elsewhere.test": DeliveryStatus.SENT,
        "nobody@elsewhere.test": DeliveryStatus.FAILED,
        "later@elsewhere.test": DeliveryStatus.RETRYING,
    }
    return message


def test_retry_queues_failed_and_waiting_recipients_and_sends_them(
    sink,  # noqa: F811
    box,
    bounced,
    django_capture_on_commit_callbacks,
):
    client = _client(box, "sender")
    send_at, before = bounced.send_at, timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _retry(client, bounced)
    assert response.status_code == 202, response.content
    assert len(callbacks) == 1  # the task, queued once the retry is committed
    data = response.json()
    assert data["id"] == str(bounced.pk) and data["is_draft"] is False
    assert data["send_at"] == send_at.isoformat().replace("+00:00", "Z")  # unchanged
    by_email = {r["email"]: r for r in data["recipients"]}
    assert {e: r["delivery_status"] for e, r in by_email.items()} == {
        "ok@elsewhere.test": "sent",
        "nobody@elsewhere.test": "queued",
        "later@elsewhere.test": "queued",
    }
    for email in ("nobody@elsewhere.test", "later@elsewhere.test"):
        assert by_email[email]["retry_count"] == 0
        assert before <= parse_datetime(by_email[email]["retry_at"]) <= timezone.now()  # due now
        assert by_email[email]["delivery_message"] == ""
    assert by_email["ok@elsewhere.test"]["delivery_message"].startswith("250 2.0.0 Ok")

    # The relay now accepts: the task sends to the two, not again to ok@.
    sink.answer_all_ok()
    assert services.message_send(message_id=bounced.pk) is None  # what the queued task runs
    assert set(outbound.statuses(bounced).values()) == {DeliveryStatus.SENT}
    assert [sorted(r.rcpt_tos) for r in sink.received] == [
        ["ok@elsewhere.test"],
        ["later@elsewhere.test", "nobody@elsewhere.test"],
    ]


def test_retry_with_nothing_to_retry_is_409(box, bounced, django_capture_on_commit_callbacks):
    client = _client(box, "admin")
    MessageRecipient.objects.filter(message=bounced).update(delivery_status=DeliveryStatus.SENT)
    response = _retry(client, bounced)
    assert response.status_code == 409
    assert "No recipient" in response.json()["detail"]
    # Queued only (not sent yet) is nothing to retry either; nor is a draft.
    MessageRecipient.objects.filter(message=bounced).update(delivery_status=DeliveryStatus.QUEUED)
    assert _retry(client, bounced).status_code == 409
    draft = outbound.draft(box, to=[{"email": "a@elsewhere.test"}])
    assert _retry(client, draft).status_code == 409


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_cannot_retry(box, bounced, role):
    assert _retry(_client(box, role), bounced).status_code == 403
    assert outbound.statuses(bounced)["nobody@elsewhere.test"] == DeliveryStatus.FAILED


def test_retry_of_what_is_not_visible_is_404(box, bounced):
    stranger = _client(factories.mailbox(factories.domain(), "x"), "admin")
    assert _retry(stranger, bounced).status_code == 404
    received = factories.message_create(box)  # not sent by the mailbox
    assert _retry(_client(box, "sender"), received).status_code == 404
    assert outbound.statuses(bounced)["nobody@elsewhere.test"] == DeliveryStatus.FAILED


def test_retry_of_a_message_waiting_for_its_backoff_makes_it_due_now(
    box, bounced, django_capture_on_commit_callbacks
):
    later = bounced.recipients.get(email="later@elsewhere.test")
    assert later.retry_at > timezone.now() + timedelta(seconds=30)
    with django_capture_on_commit_callbacks(execute=False):
        assert _retry(_client(box, "sender"), bounced).status_code == 202
    later.refresh_from_db()
    assert (later.delivery_status, later.retry_count) == ("queued", 0)
    assert later.retry_at <= timezone.now()
    # Past its send_at: a retried send cannot be cancelled.
    assert (
        _client(box, "sender").post(f"{API}/messages/{bounced.pk}/cancel-send/").status_code == 409
    )
