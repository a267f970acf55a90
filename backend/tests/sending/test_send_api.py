"""The send and cancel-send endpoints (the task itself is tested in test_send_service)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from facteur.domains import services as domain_services
from facteur.mail.models import DeliveryStatus, Message
from facteur.mail.services.drafts import DraftFields, draft_create
from tests import factories

pytestmark = pytest.mark.django_db
API = "/api/v1.0"


@pytest.fixture
def box():
    return factories.mailbox(factories.domain("api-send.test"), "team", shared=True)


def _client(box, role: str) -> Client:
    user = factories.user()
    domain_services.access_grant(mailbox=box, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def _draft(box, to=("alice@elsewhere.test",)) -> Message:
    return draft_create(
        mailbox=box, fields=DraftFields(subject="Hi", to=[{"email": e} for e in to])
    )


def _send(client: Client, draft: Message, body: dict | None = None):
    return client.post(
        f"{API}/drafts/{draft.pk}/send/", body or {}, content_type="application/json"
    )


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_cannot_send(box, role):
    draft = _draft(box)
    assert _send(_client(box, role), draft).status_code == 403
    draft.refresh_from_db()
    assert draft.is_draft


def test_send_answers_202_with_the_queued_message(
    box, settings, django_capture_on_commit_callbacks
):
    settings.FACTEUR_SEND_UNDO_SECONDS = 10
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _send(_client(box, "sender"), _draft(box))
    assert response.status_code == 202, response.content
    assert len(callbacks) == 1
    data = response.json()
    assert data["is_draft"] is False and data["is_sender"] is True
    message = Message.objects.get(pk=data["id"])
    assert message.send_at > timezone.now() + timedelta(seconds=5)
    assert list(message.recipients.values_list("delivery_status", flat=True)) == ["queued"]


def test_scheduled_send(box):
    when = timezone.now() + timedelta(days=1)
    response = _send(_client(box, "admin"), _draft(box), {"send_at": when.isoformat()})
    assert response.status_code == 202
    assert Message.objects.get(pk=response.json()["id"]).send_at == when
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    response = _send(_client(box, "admin"), _draft(box), {"send_at": past})
    assert response.status_code == 400
    assert "send_at" in response.json()["errors"]


def test_send_without_recipients_is_400(box):
    response = _send(_client(box, "sender"), _draft(box, to=()))
    assert response.status_code == 400
    assert "recipients" in response.json()["errors"]


def test_send_with_too_large_attachments_is_413(box, settings):
    draft = _draft(box)
    draft.attachments.create(
        blob=factories.message_create(box).raw_blob, size=10_000, content_type="text/plain"
    )
    settings.FACTEUR_MAX_MESSAGE_SIZE = 4096
    response = _send(_client(box, "sender"), draft)
    assert response.status_code == 413
    assert "exceed" in response.json()["detail"]


def test_send_unknown_or_not_a_draft_is_404(box):
    client = _client(box, "sender")
    assert _send(client, factories.message_create(box)).status_code == 404
    stranger = factories.mailbox(factories.domain(), "x")
    assert _send(client, _draft(stranger)).status_code == 404


def test_cancel_send_within_the_window_and_409_after(box, settings):
    settings.FACTEUR_SEND_UNDO_SECONDS = 60
    client = _client(box, "sender")
    message_id = _send(client, _draft(box)).json()["id"]
    url = f"{API}/messages/{message_id}/cancel-send/"
    assert _client(box, "editor").post(url).status_code == 403

    response = client.post(url)
    assert response.status_code == 200, response.content
    assert response.json()["is_draft"] is True
    message = Message.objects.get(pk=message_id)
    assert message.is_draft and message.send_at is None
    assert list(message.recipients.values_list("delivery_status", flat=True)) == [""]
    assert client.post(url).status_code == 409  # a draft: nothing to cancel

    message_id = _send(client, message).json()["id"]
    Message.objects.filter(pk=message_id).update(send_at=timezone.now() - timedelta(seconds=1))
    assert client.post(url).status_code == 409  # the window is over
    message.refresh_from_db()
    assert not message.is_draft
    assert message.recipients.get().delivery_status == DeliveryStatus.QUEUED


@pytest.mark.parametrize("what", ["mailbox", "domain"])
def test_a_disabled_mailbox_sends_nothing_and_keeps_its_draft(box, what):
    from facteur.domains.models import Mailbox, MailDomain

    client = _client(box, "sender")
    draft = _draft(box)
    if what == "mailbox":
        Mailbox.objects.filter(pk=box.pk).update(is_disabled=True)
    else:
        MailDomain.objects.filter(pk=box.domain_id).update(is_disabled=True)
    response = _send(client, draft)
    assert response.status_code == 409
    assert "team@api-send.test is disabled" in response.json()["detail"]
    draft.refresh_from_db()
    assert draft.is_draft and draft.send_at is None
    # Its mail stays readable by those with access.
    assert client.get(f"{API}/messages/{draft.pk}/").status_code == 200
