"""GET /outbox/: the mail a mailbox sent that has not reached every recipient yet.

Personas: the shared mailbox's editor (sees its outbox), an outsider (sees none of it),
the editor asking for a mailbox that is not theirs (404) or with a malformed id (400).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from facteur.mail.services import drafts
from facteur.sending import services as sending
from tests.conftest import World

pytestmark = pytest.mark.django_db
API = "/api/v1.0"


def _send(world: World, subject: str, *, hours: int = 1):
    fields = drafts.DraftFields(subject=subject, to=[{"email": "someone@elsewhere.test"}])
    draft = drafts.draft_create(mailbox=world.mailbox, fields=fields)
    # The send task is scheduled on commit: never, in these tests; the message stays queued.
    return sending.message_send_request(
        draft=draft, send_at=timezone.now() + timedelta(hours=hours)
    )


def test_outbox_lists_queued_and_failed_mail_until_delivered(world: World):
    queued = _send(world, "Queued", hours=2)
    failed = _send(world, "Failed")
    failed.recipients.update(delivery_status="failed", delivery_message="550 5.1.1 No such user")
    delivered = _send(world, "Delivered")
    delivered.recipients.update(delivery_status="sent")
    client = world.client("editor")

    response = client.get(f"{API}/outbox/", {"mailbox": str(world.mailbox.pk)})

    assert response.status_code == 200
    rows = response.json()
    assert [row["subject"] for row in rows] == ["Queued", "Failed"]  # newest send_at first
    assert rows[0]["send_at"] and rows[0]["recipients"][0]["delivery_status"] == "queued"
    assert rows[1]["recipients"][0]["delivery_message"] == "550 5.1.1 No such user"
    assert {row["id"] for row in rows} == {str(queued.pk), str(failed.pk)}
    # Without a mailbox: every mailbox of the caller.
    assert len(client.get(f"{API}/outbox/").json()) == 2


def test_outbox_of_others_is_not_seen(world: World):
    _send(world, "Queued")
    assert world.client("outsider").get(f"{API}/outbox/").json() == []
    outsider = world.client("outsider").get(f"{API}/outbox/", {"mailbox": str(world.mailbox.pk)})
    assert outsider.status_code == 404


def test_outbox_refuses_a_malformed_mailbox_id(world: World):
    response = world.client("editor").get(f"{API}/outbox/", {"mailbox": "not-a-uuid"})
    assert response.status_code == 400
    assert "mailbox" in response.json()["errors"]
