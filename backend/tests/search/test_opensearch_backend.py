"""The OpenSearch backend at the request level: what it sends, against a loopback
server that answers as OpenSearch's API documents (no OpenSearch runs here;
test_opensearch_server.py runs against a real one when OPENSEARCH_URL is set)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections

from facteur.config.celery import app as celery_app
from facteur.domains.models import MailboxAccess
from facteur.domains.services import access_grant, domain_create, mailbox_create
from facteur.mail.models import Message
from facteur.mail.services.drafts import DraftFields, draft_create, draft_delete
from facteur.mail.services.flags import messages_delete, messages_set_flag
from facteur.mail.services.labels import label_add_threads, label_create
from facteur.mail.services.sharing import thread_share
from facteur.search import opensearch_index
from facteur.search.backends import backend
from facteur.search.backends.base import SearchTimeout, SearchUnavailable, Segment
from facteur.search.models import MessageDocument, ReindexChange, ReindexRun
from facteur.search.opensearch_index import BulkError
from facteur.search.selectors import threads_search
from facteur.users.services import user_create
from tests.search.conftest import deliver
from tests.search.opensearch_fake import FakeOpenSearch
from tests.search.test_postgres_backend import CASES

ALIAS = "test-messages"


@pytest.fixture
def fake(settings):
    server = FakeOpenSearch(aliases={ALIAS: {f"{ALIAS}-1"}}, indices={f"{ALIAS}-1": {}})
    settings.FACTEUR_SEARCH_BACKEND = "opensearch"
    settings.FACTEUR_OPENSEARCH_URL = server.start()
    settings.FACTEUR_OPENSEARCH_INDEX_PREFIX = "test"
    backend.cache_clear()
    opensearch_index.client.cache_clear()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield server
    celery_app.conf.task_always_eager = eager
    backend.cache_clear()
    opensearch_index.client.cache_clear()
    server.stop()


@pytest.fixture
def domain_other(db):
    return domain_create(name="ailleurs.test")


def committed(capture, action):
    """Run ``action``, then what it queued for after the commit; returns ``action``'s result."""
    with capture(execute=True):
        return action()


def search(user, boxes, text, **kwargs):
    return threads_search(user_id=user.pk, mailbox_ids=[str(b.pk) for b in boxes], text=text,
                          **kwargs)  # fmt: skip


def search_body(fake, user, boxes, text):
    search(user, boxes, text)
    return fake.calls("POST", "/_search")[-1].body


def condition(body):
    """The query's translated condition (the default folder aside)."""
    inner = body["query"]["function_score"]["query"]["bool"]
    return inner["must"][0]


# -- indexing ------------------------------------------------------------------------


def test_ingest_queues_one_bulk_write_after_the_commit(
    fake, box, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        message = deliver(
            box.address,
            subject="Facture <mars>",
            body="Voici la facture.",
            cc="Compta <compta@facteur.test>",
            attachment="facture-mars.pdf",
        )
    assert fake.requests == []  # nothing synchronous in the ingest transaction
    for callback in queued:
        callback()
    (bulk,) = fake.calls("POST", "/_bulk")
    assert bulk.path == f"/{ALIAS}/_bulk"
    assert bulk.query == {"require_alias": "true"}
    assert bulk.body == [
        {"index": {"_id": str(message.pk)}},
        {
            "subject": "Facture  mars ",
            "participants": "Alice Martin alice.martin@example.com alice martin example com"
            "  claire@facteur.test claire facteur test"  # To has no name
            " Compta compta@facteur.test compta facteur test",
            "body": "Voici la facture.\n",
            "attachments": "facture-mars.pdf facture mars pdf",
            "sender": "Alice Martin alice.martin@example.com alice martin example com",
            "to": " claire@facteur.test claire facteur test",
            "cc": "Compta compta@facteur.test compta facteur test",
            "bcc": "",
            "filenames": ["facture-mars.pdf"],
            "mailbox_id": str(box.pk),
            "thread_id": str(message.thread_id),
            "labels": [],
            "unread_by": sorted(str(a.user_id) for a in MailboxAccess.objects.filter(mailbox=box)),
            "received_at": message.received_at.isoformat(),
            "size": message.size,
            "has_attachment": True,
            "is_sender": False,
            "is_draft": False,
            "is_starred": False,
            "is_archived": False,
            "is_trashed": False,
            "is_spam": False,
        },
    ]


def _last_document(fake):
    return fake.calls("POST", "/_bulk")[-1].body


def test_flags_read_state_labels_and_deletes_are_propagated(
    fake, owner, box, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    message = committed(capture, lambda: deliver(box.address, subject="Suivi"))
    mid = str(message.pk)

    committed(capture, lambda: messages_set_flag(
        user_id=owner.pk, message_ids=[mid], flag="starred", value=True))  # fmt: skip
    assert _last_document(fake)[1]["is_starred"] is True

    committed(capture, lambda: messages_set_flag(
        user_id=owner.pk, message_ids=[mid], flag="unread", value=False))  # fmt: skip
    assert _last_document(fake)[1]["unread_by"] == []

    label = label_create(mailbox_id=box.pk, name="Clients")
    committed(capture, lambda: label_add_threads(label=label, thread_ids=[message.thread_id]))
    assert _last_document(fake)[1]["labels"] == [str(label.pk)]

    other = str(committed(capture, lambda: deliver(box.address, subject="Autre")).pk)
    committed(capture, lambda: messages_delete(message_ids=[other]))
    assert _last_document(fake) == [{"delete": {"_id": other}}]
    assert list(fake.indices[f"{ALIAS}-1"]) == [mid]


def test_mail_text_never_reaches_the_logs(fake, box, caplog):
    message = deliver(box.address, subject="Confidentiel", body="Le code est 4711.")
    with caplog.at_level(logging.DEBUG):
        opensearch_index.bulk_write([message.pk])
    assert fake.calls("POST", "/_bulk")
    assert "4711" not in caplog.text and "Confidentiel" not in caplog.text


def test_sharing_and_draft_deletion_are_propagated(
    fake, owner, box, domain_other, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    other = mailbox_create(domain=domain_other, local_part="z", display_name="Z")
    reader = user_create(email="reader@people.test", full_name="Reader")
    access_grant(mailbox=box, user=reader, role="viewer")
    message = committed(capture, lambda: deliver(other.address, subject="À partager"))
    committed(capture, lambda: thread_share(
        thread=message.thread, mailbox=box, role="viewer", by_user_id=owner.pk))  # fmt: skip
    # The thread's messages are written again: now unread for the new mailbox's members.
    assert _last_document(fake)[0] == {"index": {"_id": str(message.pk)}}
    assert str(reader.pk) in _last_document(fake)[1]["unread_by"]

    fields = DraftFields(subject="Brouillon", text_body="texte", to=[])
    draft = committed(capture, lambda: draft_create(mailbox=box, fields=fields))
    assert _last_document(fake)[1]["is_draft"] is True
    draft_id = str(draft.pk)
    committed(capture, lambda: draft_delete(draft=draft))
    assert _last_document(fake) == [{"delete": {"_id": draft_id}}]


def test_a_refused_bulk_write_raises_for_a_retry(fake, box):
    fake.aliases.clear()  # no alias: require_alias makes OpenSearch refuse every document
    message = deliver(box.address, subject="Perdu ?")
    with pytest.raises(BulkError, match="index_not_found_exception"):
        opensearch_index.bulk_write([message.pk])
    assert fake.indices == {f"{ALIAS}-1": {}}  # no index created without the template


def test_the_postgres_backend_ignores_the_change_hooks(settings, box):
    settings.FACTEUR_SEARCH_BACKEND = "postgres"
    backend.cache_clear()
    try:
        backend().messages_changed(["x"])
        backend().messages_deleted(["x"])
        backend().threads_changed(["x"])
    finally:
        backend.cache_clear()


# -- query translation ---------------------------------------------------------------


def words(field_names, word):
    return {
        "bool": {
            "should": [{"match": {f: {"query": word, "operator": "and"}}} for f in field_names],
            "minimum_should_match": 1,
        }
    }


CONTENT = ("content", "content.fr", "content.en")
SUBJECTS = ("subject", "subject.fr", "subject.en")
NOT_TRASH_OR_SPAM = {
    "bool": {
        "filter": [],
        "must_not": [{"term": {"is_trashed": True}}, {"term": {"is_spam": True}}],
    }
}

TRANSLATIONS = [
    ("budget", words(CONTENT, "budget")),
    (
        '"invoice attached"',
        {
            "bool": {
                "should": [{"match_phrase": {f: "invoice attached"}} for f in CONTENT],
                "minimum_should_match": 1,
            }
        },
    ),
    ("-budget", {"bool": {"must_not": [words(CONTENT, "budget")]}}),
    (
        "budget OR vacances",
        {
            "bool": {
                "should": [words(CONTENT, "budget"), words(CONTENT, "vacances")],
                "minimum_should_match": 1,
            }
        },
    ),
    (
        "budget vacances",
        {"bool": {"must": [words(CONTENT, "budget"), words(CONTENT, "vacances")]}},
    ),
    ("subject:budget", words(SUBJECTS, "budget")),
    (
        "from:bob",
        {
            "bool": {
                "should": [{"match": {"sender": {"query": "bob", "operator": "and"}}}],
                "minimum_should_match": 1,
            }
        },
    ),
    (
        "to:bob",
        {
            "bool": {
                "should": [
                    {"match": {f: {"query": "bob", "operator": "and"}}} for f in ("to", "cc", "bcc")
                ],
                "minimum_should_match": 1,
            }
        },
    ),
    (
        "cc:bob",
        {
            "bool": {
                "should": [{"match": {"cc": {"query": "bob", "operator": "and"}}}],
                "minimum_should_match": 1,
            }
        },
    ),
    (
        "bcc:bob",
        {
            "bool": {
                "should": [{"match": {"bcc": {"query": "bob", "operator": "and"}}}],
                "minimum_should_match": 1,
            }
        },
    ),
    ("from:me", {"term": {"is_sender": True}}),
    ("to:me", {"term": {"is_sender": False}}),
    (
        "filename:fact*re",
        {
            "bool": {
                "must": [
                    {"match": {"attachments": {"query": "fact*re", "operator": "and"}}},
                    {"wildcard": {"filenames": {"value": "*fact\\*re*", "case_insensitive": True}}},
                ]
            }
        },
    ),
    ("has:attachment", {"term": {"has_attachment": True}}),
    ("is:starred", {"term": {"is_starred": True}}),
    ("in:trash", {"bool": {"filter": [{"term": {"is_trashed": True}}], "must_not": []}}),
    (
        "in:inbox",
        {
            "bool": {
                "filter": [],
                "must_not": [
                    {"term": {f: True}}
                    for f in ("is_sender", "is_draft", "is_trashed", "is_spam", "is_archived")
                ],
            }
        },
    ),
    ("in:all", NOT_TRASH_OR_SPAM),
    ("in:outbox", {"match_none": {}}),  # nothing waits for delivery
    ("label:nowhere", {"match_none": {}}),  # no such label in the caller's mailboxes
    ("larger:1M", {"range": {"size": {"gt": 1048576}}}),
    ("smaller:10k", {"range": {"size": {"lt": 10240}}}),
    ("before:2025-02-03", {"range": {"received_at": {"lt": "2025-02-03T00:00:00+00:00"}}}),
    ("after:2025-02-03", {"range": {"received_at": {"gte": "2025-02-03T00:00:00+00:00"}}}),
]


@pytest.mark.parametrize(("text", "expected"), TRANSLATIONS, ids=[t for t, _ in TRANSLATIONS])
def test_each_operator_is_translated(fake, owner, box, text, expected):
    assert condition(search_body(fake, owner, [box], text)) == expected


def test_read_state_is_the_searching_user(fake, owner, box):
    unread = {"term": {"unread_by": str(owner.pk)}}
    assert condition(search_body(fake, owner, [box], "is:unread")) == unread
    assert condition(search_body(fake, owner, [box], "is:read")) == {"bool": {"must_not": [unread]}}


def test_labels_are_resolved_in_the_callers_mailboxes_only(fake, owner, box, domain_other):
    mine = label_create(mailbox_id=box.pk, name="Clients/Gros")
    other_box = mailbox_create(domain=domain_other, local_part="x", display_name="X")
    label_create(mailbox_id=other_box.pk, name="Clients")
    assert condition(search_body(fake, owner, [box], "label:clients")) == {
        "terms": {"labels": [str(mine.pk)]}
    }


def test_outbox_is_the_messages_waiting_for_delivery(fake, owner, box):
    message = deliver(box.address, subject="Envoi", sender=f"Claire <{box.address}>")
    message.recipients.update(delivery_status="queued")
    Message.objects.filter(pk=message.pk).update(is_sender=True)
    assert condition(search_body(fake, owner, [box], "in:outbox")) == {
        "ids": {"values": [str(message.pk)]}
    }


SCOPE_TEXTS = [t for t, _ in CASES] + [
    "-in:anywhere", "in:anywhere", "(((a OR -b) OR -(c d)))", "-(-(-(a OR b)))", "a " * 60,
]  # fmt: skip


@pytest.mark.parametrize("text", SCOPE_TEXTS)
def test_the_scope_filter_is_in_every_query(fake, owner, box, text):
    """Whatever the query, the translated tree only ever goes under "must", next to a
    filter on the caller's mailboxes that it cannot replace or loosen."""
    body = search_body(fake, owner, [box], text)
    (outer,) = body["query"]
    assert outer == "function_score"
    score = body["query"]["function_score"]
    assert score["boost_mode"] == "sum"
    assert set(score["query"]) == {"bool"}
    inner = score["query"]["bool"]
    assert set(inner) == {"filter", "must"}
    assert inner["filter"] == [
        {"bool": {"should": [{"terms": {"mailbox_id": [str(box.pk)]}}], "minimum_should_match": 1}}
    ]


def test_threads_shared_into_the_callers_mailboxes_are_in_scope(fake, owner, box, domain_other):
    other = mailbox_create(domain=domain_other, local_part="y", display_name="Y")
    message = deliver(other.address, subject="Partagé")
    thread_share(thread=message.thread, mailbox=box, role="viewer", by_user_id=owner.pk)
    body = search_body(fake, owner, [box], "partagé")
    assert body["query"]["function_score"]["query"]["bool"]["filter"] == [
        {
            "bool": {
                "should": [
                    {"terms": {"mailbox_id": [str(box.pk)]}},
                    {"terms": {"thread_id": [str(message.thread_id)]}},
                ],
                "minimum_should_match": 1,
            }
        }
    ]


def test_one_hit_per_thread_trash_and_spam_left_out_by_default(fake, owner, box):
    body = search_body(fake, owner, [box], "")
    assert body["collapse"] == {"field": "thread_id"}
    assert body["from"] == 0 and body["size"] == 51
    assert body["query"]["function_score"]["query"]["bool"]["must"] == [NOT_TRASH_OR_SPAM]
    assert "must" not in condition(search_body(fake, owner, [box], "in:anywhere"))


# -- results -------------------------------------------------------------------------


def test_hits_and_highlights_become_plain_text_segments(fake, owner, box):
    thread, message = "4f6a3a52-8d4f-4a54-9c1d-2d5a4cf0a001", "4f6a3a52-8d4f-4a54-9c1d-2d5a4cf0a002"

    def answer(body):
        pre, post = body["highlight"]["pre_tags"][0], body["highlight"]["post_tags"][0]
        fake_mark = "\ue000deadbeef["  # a mark-like text in the mail is only text
        return {"hits": [{
            "_id": message, "_score": 2.5, "fields": {"thread_id": [thread]},
            "highlight": {
                "subject.fr": [f"Les {pre}réunions{post}  <b>du</b> lundi"],
                "body": [f"{fake_mark} <script>x</script>\n{pre}réunion{post}"],
            },
        }]}  # fmt: skip

    fake.search_answer = answer
    results = search(owner, [box], "réunion")
    (hit,) = results.hits
    assert (str(hit.thread_id), str(hit.message_id), hit.score) == (thread, message, 2.5)
    assert hit.subject == [
        Segment("Les ", False), Segment("réunions", True), Segment(" <b>du</b> lundi", False),
    ]  # fmt: skip
    assert hit.snippet == [
        Segment("\ue000deadbeef[ <script>x</script> ", False), Segment("réunion", True),
    ]  # fmt: skip
    assert results.has_more is False


def test_has_more_when_the_page_is_full(fake, owner, box):
    ids = [f"4f6a3a52-8d4f-4a54-9c1d-2d5a4cf0a{n:03}" for n in range(3)]
    fake.search_answer = {"hits": [{"_id": i, "_score": 1, "fields": {"thread_id": [i]}}
                                   for i in ids]}  # fmt: skip
    results = search(owner, [box], "x", limit=2)
    assert [str(h.message_id) for h in results.hits] == ids[:2]
    assert results.has_more is True
    assert results.hits[0].subject == [] and results.hits[0].snippet == []


def test_a_slow_answer_is_a_search_timeout(fake, owner, box, settings):
    settings.FACTEUR_SEARCH_TIMEOUT_MS = 100
    fake.search_delay = 0.5
    with pytest.raises(SearchTimeout):
        search(owner, [box], "lent")
    assert fake.calls("POST", "/_search")[-1].body["timeout"] == "100ms"


def test_a_timed_out_answer_is_a_search_timeout(fake, owner, box, monkeypatch):
    original = fake.answer

    def timed_out(request):
        status, answer = original(request)
        if request.path.endswith("/_search"):
            answer["timed_out"] = True
        return status, answer

    monkeypatch.setattr(fake, "answer", timed_out)
    with pytest.raises(SearchTimeout):
        search(owner, [box], "partiel")


# -- reindex -------------------------------------------------------------------------


def test_reindex_fills_a_new_index_then_swaps_the_alias(fake, box, capsys):
    from facteur.cli.main import run_noun

    messages = [deliver(box.address, subject=f"Message {n}") for n in range(3)]
    fake.requests.clear()
    assert run_noun("search", ["reindex"]) == 0
    calls = [(r.method, r.path) for r in fake.requests]
    (template, create, fill, _refresh, _lookup, swap, _delete, *late) = fake.requests
    new = create.path.strip("/")
    assert new.startswith(f"{ALIAS}-") and new != f"{ALIAS}-1"
    assert calls[:7] == [
        ("PUT", f"/_index_template/{ALIAS}"),
        ("PUT", f"/{new}"),
        ("POST", f"/{new}/_bulk"),
        ("POST", f"/{new}/_refresh"),
        ("GET", f"/_alias/{ALIAS}"),
        ("POST", "/_aliases"),
        ("DELETE", f"/{ALIAS}-1"),
    ]
    assert template.body["index_patterns"] == [f"{ALIAS}-*"]
    assert template.body["template"]["mappings"]["dynamic"] == "strict"
    analysers = template.body["template"]["settings"]["analysis"]["analyzer"]
    assert set(analysers) == {"facteur_folded", "facteur_french", "facteur_english"}
    assert fill.query == {}  # the new index by name: no alias yet
    assert sorted(a["index"]["_id"] for a in fill.body[::2]) == sorted(str(m.pk) for m in messages)
    assert swap.body == {"actions": [
        {"remove": {"index": f"{ALIAS}-1", "alias": ALIAS}},
        {"add": {"index": new, "alias": ALIAS}},
    ]}  # fmt: skip
    assert fake.aliases[ALIAS] == {new} and set(fake.indices) == {new}
    assert late == []  # nothing changed during the copy: nothing to write again
    err = capsys.readouterr()
    assert "indexed 3/3 messages" in err.err
    assert f"{ALIAS} now names {new}." in err.out


def test_changes_made_during_the_copy_reach_the_new_index(
    fake, owner, box, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    read, labelled, deleted = (
        committed(capture, lambda n=n: deliver(box.address, subject=f"Message {n}"))
        for n in range(3)
    )
    label = label_create(mailbox_id=box.pk, name="Clients")
    arrived = []

    def meanwhile(done, total):
        """After the copy of every message, before the swap: none of these touch
        updated_at but the new message, and the copy already holds the old states."""
        if done < total or arrived:
            return
        committed(capture, lambda: messages_set_flag(
            user_id=owner.pk, message_ids=[read.pk], flag="unread", value=False))  # fmt: skip
        committed(capture, lambda: label_add_threads(label=label, thread_ids=[labelled.thread_id]))
        committed(capture, lambda: messages_delete(message_ids=[deleted.pk]))
        arrived.append(committed(capture, lambda: deliver(box.address, subject="Late")))

    new = opensearch_index.reindex(meanwhile)

    documents = fake.indices[new]
    assert sorted(documents) == sorted(str(m.pk) for m in (read, labelled, arrived[0]))
    assert documents[str(read.pk)]["unread_by"] == []
    assert documents[str(labelled.pk)]["labels"] == [str(label.pk)]
    assert documents[str(arrived[0].pk)]["subject"] == "Late"
    assert not ReindexRun.objects.exists() and not ReindexChange.objects.exists()


def test_a_write_outside_a_reindex_records_nothing(
    fake, owner, box, django_capture_on_commit_callbacks
):
    committed(django_capture_on_commit_callbacks, lambda: deliver(box.address, subject="Seul"))
    assert fake.calls("POST", "/_bulk")
    assert not ReindexChange.objects.exists()


def test_one_reindex_at_a_time(fake, box, capsys):
    from facteur.cli.main import run_noun

    other = connections.create_connection("default")  # another session, as another process
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [opensearch_index._REINDEX_LOCK])
        fake.requests.clear()
        assert run_noun("search", ["reindex"]) == 2
        assert "Another reindex is running" in capsys.readouterr().err
        assert fake.requests == []
    finally:
        other.close()


def test_reindex_with_postgres_writes_the_documents_opensearch_left_out(
    fake, owner, box, settings, capsys, monkeypatch
):
    """The way back: mail stored while OpenSearch was the backend has no PostgreSQL
    document until the reindex writes them (here over several batches)."""
    from facteur.cli.main import run_noun
    from facteur.search.backends import postgres

    for n in range(5):
        deliver(box.address, subject=f"Retour {n}")
    assert not MessageDocument.objects.exists()
    settings.FACTEUR_SEARCH_BACKEND = "postgres"
    backend.cache_clear()
    monkeypatch.setattr(postgres, "REBUILD_BATCH", 2)

    assert run_noun("search", ["reindex"]) == 0
    out = capsys.readouterr()
    assert "5 messages indexed in PostgreSQL" in out.out and "indexed 5/5" in out.err
    assert MessageDocument.objects.count() == 5
    assert len(search(owner, [box], "retour").hits) == 5
    assert run_noun("search", ["reindex"]) == 0  # again: the same documents, no duplicates
    assert MessageDocument.objects.count() == 5


# -- settings ------------------------------------------------------------------------


def _settings(**environ) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with ``environ`` (they are read at start)."""
    base = {
        "PATH": os.environ["PATH"],
        "FACTEUR_SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgresql://facteur@127.0.0.1:1/facteur",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "FACTEUR_SEARCH_BACKEND": "opensearch",
    }
    code = (
        "from facteur.config import settings as s; print(s.FACTEUR_OPENSEARCH_URL,"
        " s.FACTEUR_OPENSEARCH_USERNAME, s.FACTEUR_OPENSEARCH_PASSWORD)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **environ},
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_backend_needs_its_url_and_reads_credentials_from_files(tmp_path):
    missing = _settings()
    assert missing.returncode != 0
    assert "FACTEUR_SEARCH_BACKEND=opensearch needs FACTEUR_OPENSEARCH_URL" in missing.stderr
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    loaded = _settings(
        FACTEUR_OPENSEARCH_URL="https://search.example:9200",
        FACTEUR_OPENSEARCH_USERNAME="facteur",
        FACTEUR_OPENSEARCH_PASSWORD_FILE=str(password),
    )
    assert loaded.stdout.split() == ["https://search.example:9200", "facteur", "s3cret"], (
        loaded.stderr
    )


def test_no_index_behind_the_alias_is_a_503_that_says_nothing_inside(fake, world, caplog):
    # A new installation switched to OpenSearch before its first reindex.
    fake.aliases.clear()
    fake.indices.clear()
    response = world.client("editor").get("/api/v1.0/threads/", {"search": "facture"})
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]
    assert "reindex" in caplog.text and "facture" not in caplog.text


def test_an_unreachable_search_service_is_a_503(fake, world):
    fake.stop()
    response = world.client("editor").get("/api/v1.0/threads/", {"search": "facture"})
    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]
    with pytest.raises(SearchUnavailable):
        search(world.users["editor"], [world.mailbox], "facture")
