"""End to end: the send API, then a real Celery worker (real Redis broker) delivering
through an aiosmtpd relay on loopback and into a local mailbox."""

from __future__ import annotations

import email

import dkim
import pytest
from celery.contrib.testing.worker import start_worker
from django.test import Client

from facteur import celery_app
from facteur.domains import services as domain_services
from facteur.domains.models import DkimKey
from facteur.mail.models import DeliveryStatus, Message
from facteur.sending import tasks  # noqa: F401  (registers the task with the worker)
from tests import factories
from tests.sending.dkim_check import dnsfunc_for
from tests.sending.smtp_sink import sink  # noqa: F401  (fixture)
from tests.waiting import wait_until


@pytest.mark.django_db(transaction=True)
def test_send_api_to_worker_to_relay_and_local_mailbox(sink, settings):  # noqa: F811
    settings.FACTEUR_SEND_UNDO_SECONDS = 0
    domain = factories.domain("worker-send.test")
    box = factories.mailbox(domain, "chloe")
    local = factories.mailbox(domain, "bob")
    user = factories.user()
    domain_services.access_grant(mailbox=box, user=user, role="sender")
    original = factories.message_create(box, subject="Planning")
    client = Client()
    client.force_login(user)
    draft = client.post(
        "/api/v1.0/drafts/",
        {
            "mailbox": str(box.pk),
            "in_reply_to": str(original.pk),
            "text_body": "Ça me va.\n",
            "to": [{"name": "Alice", "email": "alice@elsewhere.test"}],
            "cc": [{"email": local.address}],
        },
        content_type="application/json",
    ).json()

    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        response = client.post(f"/api/v1.0/drafts/{draft['id']}/send/", {}, "application/json")
        assert response.status_code == 202, response.content
        message = Message.objects.get(pk=draft["id"])

        def done() -> bool:
            statuses = set(message.recipients.values_list("delivery_status", flat=True))
            return statuses <= {DeliveryStatus.SENT, DeliveryStatus.DELIVERED}

        assert wait_until(done)

    assert dict(message.recipients.values_list("email", "delivery_status")) == {
        "alice@elsewhere.test": DeliveryStatus.SENT,
        local.address: DeliveryStatus.DELIVERED,
    }
    assert len(sink.received) == 1
    got = sink.received[0]
    assert got.rcpt_tos == ["alice@elsewhere.test"]
    key = DkimKey.objects.get(domain=domain, is_active=True)
    assert dkim.verify(got.content, dnsfunc=dnsfunc_for(key))
    parsed = email.message_from_bytes(got.content)
    assert parsed["In-Reply-To"] == f"<{original.mime_id}>"
    assert parsed["References"].split() == [f"<{original.mime_id}>"]
    assert parsed["Subject"] == "Re: Planning"
    copy = Message.objects.get(mailbox=local, mime_id=message.mime_id)
    assert copy.in_reply_to == original.mime_id and copy.thread.inbox_count == 1
