"""Labels, drafts and blobs through the API, as the webmail uses them."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from facteur.mail.models import Label, Message, Thread
from tests.conftest import World

API = "/api/v1.0"
JSON = "application/json"


def test_renaming_a_parent_label_renames_its_children(world: World):
    client = world.client("editor")
    for name in ("Clients", "Clients/ACME", "Clients/ACME/2026", "Clientsx"):
        assert (
            client.post(
                f"{API}/labels/",
                {"mailbox": str(world.mailbox.pk), "name": name},
                content_type=JSON,
            ).status_code
            == 201
        )
    parent = Label.objects.get(name="Clients")
    response = client.patch(f"{API}/labels/{parent.pk}/", {"name": "Customers"}, content_type=JSON)
    assert response.status_code == 200
    names = sorted(Label.objects.values_list("name", flat=True))
    assert names == ["Clientsx", "Customers", "Customers/ACME", "Customers/ACME/2026"]


def test_label_put_on_and_taken_off_threads(world: World):
    client = world.client("editor")
    label = client.post(
        f"{API}/labels/", {"mailbox": str(world.mailbox.pk), "name": "Todo"}, content_type=JSON
    ).json()
    body = {"thread_ids": [str(world.thread.pk)]}
    assert client.post(f"{API}/labels/{label['id']}/threads/", body, content_type=JSON).json() == {
        "updated": 1
    }
    thread = client.get(f"{API}/threads/{world.thread.pk}/").json()
    assert [x["name"] for x in thread["labels"]] == ["Todo"]
    removed = client.post(f"{API}/labels/{label['id']}/threads/remove/", body, content_type=JSON)
    assert removed.json() == {"updated": 1}
    assert client.get(f"{API}/threads/{world.thread.pk}/").json()["labels"] == []
    # The DELETE form is gone (its body was not in the schema): one way to take a label off.
    gone = client.delete(f"{API}/labels/{label['id']}/threads/", body, content_type=JSON)
    assert gone.status_code == 405
    # Threads of another tenant cannot be labelled nor unlabelled.
    other = {"thread_ids": [str(world.other_thread.pk)]}
    for path in ("threads/", "threads/remove/"):
        response = client.post(f"{API}/labels/{label['id']}/{path}", other, content_type=JSON)
        assert response.status_code == 404
    # A body without thread ids is refused, saying which field.
    response = client.post(f"{API}/labels/{label['id']}/threads/remove/", {}, content_type=JSON)
    assert response.status_code == 400 and "thread_ids" in response.json()["errors"]


def test_draft_lifecycle_with_attachment_and_reply(world: World):
    client = world.client("editor")
    upload = client.post(
        f"{API}/mailboxes/{world.mailbox.pk}/blobs/",
        {"file": SimpleUploadedFile("notes.txt", b"some notes", "text/plain")},
    ).json()
    assert upload["size"] == 10 and upload["filename"] == "notes.txt"
    response = client.post(
        f"{API}/drafts/",
        {
            "mailbox": str(world.mailbox.pk),
            "in_reply_to": str(world.message.pk),
            "to": [{"name": "Alice", "email": "Alice@Elsewhere.test"}],
            "text_body": "Thanks, we are on it.",
            "attachments": [upload["blob"]],
        },
        content_type=JSON,
    )
    assert response.status_code == 201, response.content
    draft = response.json()
    assert draft["is_draft"] and draft["subject"] == "Re: Request"
    assert draft["thread"] == str(world.thread.pk)
    assert draft["in_reply_to"] == world.message.mime_id
    assert draft["references"] == [world.message.mime_id]
    assert draft["recipients"][0]["email"] == "alice@elsewhere.test"
    assert draft["attachments"][0]["filename"] == "notes.txt"
    thread = Thread.objects.get(pk=world.thread.pk)
    assert thread.draft_count == 1 and thread.message_count == 2

    response = client.patch(
        f"{API}/drafts/{draft['id']}/",
        {"cc": [{"email": "bob@elsewhere.test"}], "attachments": []},
        content_type=JSON,
    )
    updated = response.json()
    assert [r["kind"] for r in updated["recipients"]] == ["to", "cc"]
    assert updated["attachments"] == []

    assert client.delete(f"{API}/drafts/{draft['id']}/").status_code == 204
    thread.refresh_from_db()
    assert thread.draft_count == 0 and thread.message_count == 1


def test_a_received_message_is_not_a_draft(world: World):
    response = world.client("editor").patch(
        f"{API}/drafts/{world.message.pk}/", {"subject": "x"}, content_type=JSON
    )
    assert response.status_code == 404


def test_new_draft_starts_a_thread_named_after_it(world: World):
    client = world.client("editor")
    draft = client.post(
        f"{API}/drafts/", {"mailbox": str(world.mailbox.pk)}, content_type=JSON
    ).json()
    client.patch(f"{API}/drafts/{draft['id']}/", {"subject": "Quarterly"}, content_type=JSON)
    assert Thread.objects.get(pk=draft["thread"]).subject == "Quarterly"
    assert Message.objects.get(pk=draft["id"]).sender_email == "contact@tenant.test"


def test_blob_download_is_never_rendered_as_a_page(world: World):
    client = world.client("viewer")
    blob_id = world.message.attachments.get().blob_id
    response = client.get(f"{API}/blobs/{blob_id}/")
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 test"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
    inline = client.get(f"{API}/blobs/{blob_id}/?inline=1")
    assert inline["Content-Type"] == "application/pdf"
    assert inline["Content-Disposition"].startswith("inline;")


def test_raw_source_download(world: World):
    response = world.client("viewer").get(f"{API}/messages/{world.message.pk}/raw/")
    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert b"Subject: Request" in response.content


def test_contacts_autocomplete(world: World):
    from facteur.mail.services.contacts import contacts_record

    contacts_record(
        mailbox_id=world.mailbox.pk,
        people=[("Alice Martin", "alice@elsewhere.test"), ("Bob", "bob@elsewhere.test")],
    )
    contacts_record(mailbox_id=world.mailbox.pk, people=[("", "alice@elsewhere.test")])
    client = world.client("viewer")
    found = client.get(f"{API}/contacts/?q=mart").json()
    assert [c["email"] for c in found] == ["alice@elsewhere.test"]
    assert found[0]["name"] == "Alice Martin" and found[0]["use_count"] == 2
    assert world.client("outsider").get(f"{API}/contacts/?q=al").json() == []
