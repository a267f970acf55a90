"""Bad requests get a 4xx with a reason, never a 500."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import World

API = "/api/v1.0"


@pytest.fixture
def editor(world: World) -> Client:
    return world.client("editor")


def test_malformed_json_is_a_400_with_a_reason(world: World, editor: Client) -> None:
    response = editor.post(f"{API}/labels/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_field_errors_name_the_field(world: World, editor: Client) -> None:
    response = editor.post(
        f"{API}/labels/",
        data={"mailbox": "not-a-uuid", "name": ""},
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"mailbox", "name"}


def test_service_validation_becomes_a_400(world: World, editor: Client) -> None:
    response = editor.post(
        f"{API}/labels/",
        data={"mailbox": str(world.mailbox.pk), "name": "a//b", "color": "red"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid input."


def test_duplicate_label_is_a_400(world: World, editor: Client) -> None:
    body = {"mailbox": str(world.mailbox.pk), "name": "Urgent"}
    assert editor.post(f"{API}/labels/", body, content_type="application/json").status_code == 201
    again = editor.post(f"{API}/labels/", body, content_type="application/json")
    assert again.status_code == 400
    assert "exists" in str(again.json())


@pytest.mark.parametrize(
    "path",
    [
        "threads/{id}/",
        "threads/{id}/messages/",
        "messages/{id}/",
        "messages/{id}/raw/",
        "mailboxes/{id}/",
        "blobs/{id}/",
        "maildomains/{id}/",
    ],
)
def test_unknown_ids_are_404(editor: Client, path: str) -> None:
    response = editor.get(f"{API}/{path.format(id=uuid.uuid4())}")
    assert response.status_code == 404


def test_other_tenants_ids_look_like_unknown_ids(world: World, editor: Client) -> None:
    theirs = editor.get(f"{API}/threads/{world.other_thread.pk}/")
    unknown = editor.get(f"{API}/threads/{uuid.uuid4()}/")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()


def test_flags_on_unknown_messages_are_404(editor: Client) -> None:
    response = editor.post(
        f"{API}/flags/",
        {"flag": "starred", "value": True, "message_ids": [str(uuid.uuid4())]},
        content_type="application/json",
    )
    assert response.status_code == 404


def test_flags_need_targets(editor: Client) -> None:
    response = editor.post(
        f"{API}/flags/", {"flag": "starred", "value": True}, content_type="application/json"
    )
    assert response.status_code == 400


def test_unknown_flag_is_a_400(world: World, editor: Client) -> None:
    response = editor.post(
        f"{API}/flags/",
        {"flag": "deleted", "value": True, "thread_ids": [str(world.thread.pk)]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "flag" in response.json()["errors"]


def test_bad_cursor_is_a_400(editor: Client) -> None:
    response = editor.get(f"{API}/threads/?cursor=garbage!!")
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_oversize_upload_is_a_413(world: World, editor: Client, settings) -> None:
    settings.FACTEUR_MAX_UPLOAD_SIZE = 1024
    big = SimpleUploadedFile("big.bin", b"x" * 2048, "application/octet-stream")
    response = editor.post(f"{API}/mailboxes/{world.mailbox.pk}/blobs/", {"file": big})
    assert response.status_code == 413
    assert "1024" in response.json()["detail"]


def test_upload_without_file_is_a_400(world: World, editor: Client) -> None:
    response = editor.post(f"{API}/mailboxes/{world.mailbox.pk}/blobs/", {})
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_draft_with_bad_address_is_a_400(world: World, editor: Client) -> None:
    response = editor.post(
        f"{API}/drafts/",
        {"mailbox": str(world.mailbox.pk), "to": [{"email": "not an address"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "to" in response.json()["errors"]


def test_draft_with_someone_elses_blob_is_a_400(world: World) -> None:
    outsider = world.client("outsider")
    upload = outsider.post(
        f"{API}/mailboxes/{world.other_mailbox.pk}/blobs/",
        {"file": SimpleUploadedFile("secret.txt", b"secret", "text/plain")},
    ).json()
    response = world.client("editor").post(
        f"{API}/drafts/",
        {"mailbox": str(world.mailbox.pk), "attachments": [upload["blob"]]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "attachments" in response.json()["errors"]
    # ... and knowing the id does not let them download it either.
    assert world.client("editor").get(f"{API}/blobs/{upload['blob']}/").status_code == 404


def test_wrong_method_is_a_405(editor: Client) -> None:
    assert editor.put(f"{API}/flags/", {}, content_type="application/json").status_code == 405
