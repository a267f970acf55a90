"""GET /threads/?search=: results, highlights, isolation between tenants, bad input.

Personas from tests/conftest.py ``World``: ``editor`` of tenant.test's shared
mailbox, ``outsider`` (admin of other.test's mailbox) who must see nothing of
tenant.test, whatever they search for, unless a thread is shared with them.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from facteur.mail.models import Label
from facteur.mail.services import labels, sharing
from tests import factories
from tests.conftest import World

API = "/api/v1.0"


@pytest.fixture
def secrets(world: World):
    """The other tenant's mail has words, senders and labels the first tenant's also has."""
    other = world.other_mailbox
    factories.message_create(other, subject="Request for quote", sender=("Spy", "spy@other.test"),
                             text="confidential request figures", attachment=b"%PDF")  # fmt: skip
    label = labels.label_create(mailbox_id=other.pk, name="Secret")
    labels.label_add_threads(label=label, thread_ids=[world.other_thread.pk])
    factories.message_create(world.mailbox, subject="Request follow-up", text="our request")
    return label


def searched(client, text: str, **params) -> dict:
    response = client.get(f"{API}/threads/", {"search": text, **params})
    assert response.status_code == 200, response.content
    return response.json()


def search(client, text: str, **params) -> list[dict]:
    return searched(client, text, **params)["results"]


QUERIES = [
    "request", "Private", "confidential", "in:all", "in:anywhere", "dans:tous",
    "label:Secret", "from:spy", "from:spy@other.test", "to:hello@other.test", "has:attachment",
    "is:unread", "-nothing", "request OR private OR confidential", "subject:quote",
    "filename:report", "larger:1", "after:2000-01-01", "",
]  # fmt: skip


@pytest.mark.parametrize("text", QUERIES)
def test_another_tenants_mail_never_appears(world: World, secrets, text):
    theirs = {str(world.other_thread.pk)} | {
        str(t) for t in world.other_mailbox.threads.values_list("id", flat=True)
    }
    for persona in ("viewer", "editor", "admin"):
        found = {t["id"] for t in search(world.client(persona), text or " ", view="all")}
        found |= {t["id"] for t in search(world.client(persona), text or "x")}
        assert not found & theirs, (persona, text)
    ours = {str(t) for t in world.mailbox.threads.values_list("id", flat=True)}
    found = {t["id"] for t in search(world.client("outsider"), text or "x")}
    assert not found & ours, text
    assert not search(world.client("domain_admin"), text or "x")


def test_typing_another_mailboxs_index_lexeme_finds_nothing(world: World, secrets):
    # Documents carry "#<mailbox id>" for speed; the ids in SQL decide what is seen.
    for text in (f"#{world.other_mailbox.pk}", f'"#{world.other_mailbox.pk}"'):
        assert search(world.client("editor"), text) == []


def test_a_label_id_of_another_tenant_is_404(world: World, secrets):
    response = world.client("editor").get(
        f"{API}/threads/", {"search": "request", "label": str(secrets.pk)}
    )
    assert response.status_code == 404


def test_another_tenants_mailbox_is_404(world: World, secrets):
    response = world.client("editor").get(
        f"{API}/threads/", {"search": "request", "mailbox": str(world.other_mailbox.pk)}
    )
    assert response.status_code == 404


def test_a_shared_thread_is_found_by_who_it_is_shared_with(world: World, secrets):
    outsider = world.client("outsider")
    assert str(world.thread.pk) not in {t["id"] for t in search(outsider, "request")}
    sharing.thread_share(
        thread=world.thread, mailbox=world.other_mailbox, role="viewer", by_user_id=None
    )
    found = [t["id"] for t in search(outsider, "request")]
    assert str(world.thread.pk) in found
    # ... and nothing else of the tenant's.
    follow_up = world.mailbox.threads.get(subject="Request follow-up")
    assert str(follow_up.pk) not in found


def test_results_carry_the_match(world: World, secrets):
    body = searched(world.client("editor"), "follow-up")
    [thread] = body["results"]
    match = body["matches"][thread["id"]]
    assert thread["subject"] == "Request follow-up"
    assert [s["text"] for s in match["subject"] if s["match"]] == ["follow-up"]
    assert "".join(s["text"] for s in match["subject"]) == "Request follow-up"
    assert match["message"]
    assert "matches" not in searched(world.client("editor"), "")  # blank: the plain list


def test_filters_combine_with_the_search(world: World, secrets):
    editor = world.client("editor")
    assert {t["subject"] for t in search(editor, "request")} == {"Request", "Request follow-up"}
    assert [t["subject"] for t in search(editor, "request", has_attachments=True)] == ["Request"]
    assert [t["subject"] for t in search(editor, "request", view="sent")] == []
    label = Label.objects.create(mailbox=world.mailbox, name="Todo")
    labels.label_add_threads(label=label, thread_ids=[world.thread.pk])
    assert [t["subject"] for t in search(editor, "request", label=str(label.pk))] == ["Request"]


def test_pages_through_results_with_a_cursor(world: World):
    for i in range(5):
        factories.message_create(world.mailbox, subject=f"Paged {i}", text="pagination")
    editor = world.client("editor")
    seen, cursor = [], None
    while True:
        params = {"search": "pagination", "page_size": 2, **({"cursor": cursor} if cursor else {})}
        body = editor.get(f"{API}/threads/", params).json()
        seen += [t["subject"] for t in body["results"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"Paged {i}" for i in range(5)]


BAD = [
    ("x" * 10_000, 400, "characters long"),
    ("(" * 50 + "a", 400, "levels deep"),
    (" OR ".join(f"w{i}" for i in range(3000)), 400, "characters long"),
    (" ".join(f"w{i}" for i in range(100)), 400, "terms"),
    ("a\x00b", 400, "Null characters"),
]


@pytest.mark.parametrize(
    ("text", "status", "reason"), BAD, ids=["10kB", "deep", "3000 OR", "100 words", "NUL"]
)
def test_bad_searches_are_a_400_with_a_reason(world: World, text, status, reason):
    response = world.client("editor").get(f"{API}/threads/", {"search": text})
    assert response.status_code == status
    assert reason in str(response.json()["errors"]["search"])


@pytest.mark.parametrize(
    "text",
    ['"unclosed', "((a", "a)))", "-", "OR", "in:", "before:yesterday", "\x01\x02\x7f",
     "ÿþ\x1b[31m", "%_\\'; DROP TABLE mail_message; --", "from:%", "label:%", ":::", "(-)"],
)  # fmt: skip
def test_odd_searches_are_lenient(world: World, text):
    response = world.client("editor").get(f"{API}/threads/", {"search": text})
    assert response.status_code == 200, response.content


def test_bad_search_cursor_is_a_400(world: World):
    response = world.client("editor").get(f"{API}/threads/", {"search": "a", "cursor": "abc"})
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


@pytest.mark.django_db(transaction=True)
def test_a_search_that_runs_too_long_is_a_503(world: World, settings):
    """The statement timeout bounds a search: here it waits on a lock another session holds."""
    settings.FACTEUR_SEARCH_TIMEOUT_MS = 200
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=False) as blocker:
        blocker.execute("LOCK TABLE search_messagedocument IN ACCESS EXCLUSIVE MODE")
        response = world.client("editor").get(f"{API}/threads/", {"search": "request"})
        blocker.rollback()
    assert response.status_code == 503
    assert "too long" in response.json()["detail"]
    assert world.client("editor").get(f"{API}/threads/", {"search": "request"}).status_code == 200
