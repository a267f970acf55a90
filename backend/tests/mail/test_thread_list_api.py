"""GET /threads/: folders, filters, keyset pagination, per-user read state, shares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from facteur.domains import services as domain_services
from facteur.mail.services import labels, sharing
from tests import factories
from tests.conftest import World

API = "/api/v1.0"


def _ids(response):
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["results"]]


def test_inbox_lists_newest_activity_first(world: World):
    client = world.client("viewer")
    now = timezone.now()
    old = factories.message_create(
        world.mailbox, subject="Old", received_at=now - timedelta(days=3)
    )
    new = factories.message_create(world.mailbox, subject="New", received_at=now)
    # A reply brings an old thread back to the top.
    factories.message_create(
        world.mailbox, thread=old.thread, received_at=now + timedelta(seconds=5)
    )
    ids = _ids(client.get(f"{API}/threads/?mailbox={world.mailbox.pk}"))
    assert ids[:2] == [str(old.thread_id), str(new.thread_id)]


def test_cursor_pagination_walks_every_thread_once(world: World):
    for i in range(7):
        factories.message_create(world.mailbox, subject=f"T{i}")
    client = world.client("viewer")
    seen, cursor = [], None
    while True:
        url = f"{API}/threads/?mailbox={world.mailbox.pk}&page_size=3"
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""))
        seen += _ids(response)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8  # 7 + the world's thread


def test_folders(world: World):
    client = world.client("editor")
    trashed = factories.message_create(world.mailbox, subject="Bin", is_trashed=True)
    sent = factories.message_create(world.mailbox, subject="Out", is_sender=True)
    starred = factories.message_create(world.mailbox, subject="Star", is_starred=True)
    base = f"{API}/threads/?mailbox={world.mailbox.pk}"
    assert str(trashed.thread_id) not in _ids(client.get(base))
    assert _ids(client.get(base + "&view=trash")) == [str(trashed.thread_id)]
    assert _ids(client.get(base + "&view=sent")) == [str(sent.thread_id)]
    assert _ids(client.get(base + "&view=starred")) == [str(starred.thread_id)]
    assert _ids(client.get(base + "&starred=true")) == [str(starred.thread_id)]
    assert set(_ids(client.get(base + "&has_attachments=true"))) == {str(world.thread.pk)}
    response = client.get(base + "&view=nonsense")
    assert response.status_code == 400


def test_read_state_is_per_user_in_a_shared_mailbox(world: World):
    viewer, editor = world.client("viewer"), world.client("editor")
    base = f"{API}/threads/?mailbox={world.mailbox.pk}"
    assert _ids(viewer.get(base + "&unread=true")) == [str(world.thread.pk)]
    response = viewer.post(
        f"{API}/flags/",
        {"flag": "unread", "value": False, "thread_ids": [str(world.thread.pk)]},
        content_type="application/json",
    )
    assert response.json() == {"updated": 1}
    assert _ids(viewer.get(base + "&unread=true")) == []
    # The editor has still not read it.
    assert _ids(editor.get(base + "&unread=true")) == [str(world.thread.pk)]
    thread = editor.get(f"{API}/threads/{world.thread.pk}/").json()
    assert thread["unread_count"] == 1
    mailboxes = {m["id"]: m for m in viewer.get(f"{API}/mailboxes/").json()}
    assert mailboxes[str(world.mailbox.pk)]["unread_count"] == 0
    assert mailboxes[str(world.mailbox.pk)]["total_count"] == 1


def test_label_filter_and_labels_in_results(world: World):
    label = labels.label_create(mailbox_id=world.mailbox.pk, name="Clients/ACME", color="#112233")
    labels.label_add_threads(label=label, thread_ids=[world.thread.pk])
    factories.message_create(world.mailbox, subject="Unlabelled")
    client = world.client("viewer")
    response = client.get(f"{API}/threads/?label={label.pk}")
    assert _ids(response) == [str(world.thread.pk)]
    assert response.json()["results"][0]["labels"] == [
        {"id": str(label.pk), "name": "Clients/ACME", "color": "#112233"}
    ]


def test_shared_thread_appears_in_the_other_mailbox(world: World):
    sharing.thread_share(
        thread=world.thread, mailbox=world.other_mailbox, role="viewer", by_user_id=None
    )
    outsider = world.client("outsider")
    ids = _ids(outsider.get(f"{API}/threads/?mailbox={world.other_mailbox.pk}"))
    assert str(world.thread.pk) in ids and str(world.other_thread.pk) in ids
    detail = outsider.get(f"{API}/threads/{world.thread.pk}/").json()
    assert detail["role"] == "viewer"
    assert detail["unread_count"] == 1  # new to the outsider
    # A viewer share lets them read, not change.
    response = outsider.post(
        f"{API}/flags/",
        {"flag": "starred", "value": True, "thread_ids": [str(world.thread.pk)]},
        content_type="application/json",
    )
    assert response.status_code == 403
    # Unsharing takes it away again.
    access = world.thread.accesses.get()
    world.client("editor").delete(f"{API}/threads/{world.thread.pk}/accesses/{access.pk}/")
    assert outsider.get(f"{API}/threads/{world.thread.pk}/").status_code == 404


def test_shared_thread_listing_without_duplicates(world: World):
    # The admin belongs to both mailboxes: the thread must come once.
    domain_services.access_grant(
        mailbox=world.other_mailbox, user=world.users["admin"], role="viewer"
    )
    sharing.thread_share(
        thread=world.thread, mailbox=world.other_mailbox, role="editor", by_user_id=None
    )
    ids = _ids(world.client("admin").get(f"{API}/threads/"))
    assert ids.count(str(world.thread.pk)) == 1


@pytest.mark.parametrize("persona", ["viewer", "admin"])
def test_messages_of_a_thread_are_sanitised(world: World, persona: str):
    factories.message_create(
        world.mailbox,
        thread=world.thread,
        html='<p onclick="steal()">Hi<script>alert(1)</script><img src="https://t.example/p.gif"></p>',
    )
    messages = world.client(persona).get(f"{API}/threads/{world.thread.pk}/messages/").json()
    by_id = {m["id"]: m for m in messages}
    html_message = next(m for m in messages if m["id"] != str(world.message.pk))
    html = html_message["html_body"]
    assert "script" not in html and "onclick" not in html and "Hi" in html
    assert html_message["has_remote_content"] is True
    assert by_id[str(world.message.pk)]["attachments"][0]["filename"] == "report.pdf"


def test_unread_in_trash_or_spam_does_not_count_until_it_comes_back(world: World):
    client = world.client("editor")

    def unread():
        boxes = {m["id"]: m for m in client.get(f"{API}/mailboxes/").json()}
        return boxes[str(world.mailbox.pk)]["unread_count"]

    assert unread() == 1
    for flag in ("trashed", "spam"):
        body = {"flag": flag, "value": True, "message_ids": [str(world.message.pk)]}
        assert (
            client.post(f"{API}/flags/", body, content_type="application/json").status_code == 200
        )
        assert unread() == 0
        body["value"] = False
        client.post(f"{API}/flags/", body, content_type="application/json")
        assert unread() == 1  # still unread: trashing is not reading
