"""``facteur-admin mailbox delete --delete-mail``: the deleted mail leaves the search index,
for both backends; another mailbox's stays."""

from __future__ import annotations

import pytest

from facteur.cli.main import run_noun
from facteur.domains.services import access_grant, mailbox_create
from facteur.search.backends import opensearch as opensearch_backend
from facteur.search.models import MessageDocument
from tests.search.conftest import deliver, subjects
from tests.search.test_opensearch_backend import ALIAS, committed, fake  # noqa: F401 - fixture


@pytest.fixture
def neighbour(owner, box):
    mailbox = mailbox_create(domain=box.domain, local_part="voisin", display_name="Voisin")
    access_grant(mailbox=mailbox, user=owner, role="admin")
    return mailbox


def test_postgres_documents_go_with_the_mailbox(owner, box, neighbour):
    for n in range(3):
        deliver(box.address, subject=f"Budget {n}")
    kept = deliver(neighbour.address, subject="Budget voisin")
    assert len(subjects(owner, [box, neighbour], "budget")) == 4

    assert run_noun("mailbox", ["delete", box.address, "--delete-mail"]) == 0

    assert list(MessageDocument.objects.values_list("message_id", flat=True)) == [kept.pk]
    assert subjects(owner, [neighbour], "budget") == ["Budget voisin"]


def test_opensearch_documents_are_deleted_after_the_commit(
    fake,  # noqa: F811 - the fixture
    owner,
    box,
    neighbour,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    capture = django_capture_on_commit_callbacks
    gone = [str(committed(capture, lambda n=n: deliver(box.address, subject=f"M{n}")).pk)
            for n in range(3)]  # fmt: skip
    kept = str(committed(capture, lambda: deliver(neighbour.address, subject="Voisin")).pk)
    assert set(fake.indices[f"{ALIAS}-1"]) == {*gone, kept}
    # Several tasks when the mailbox is large: here two ids per task.
    monkeypatch.setattr(opensearch_backend, "DELETE_TASK_SIZE", 2)
    fake.requests.clear()

    with capture(execute=False) as queued:
        assert run_noun("mailbox", ["delete", box.address, "--delete-mail"]) == 0
    assert fake.requests == []  # nothing before the commit
    for callback in queued:
        callback()

    deletes = [line for r in fake.calls("POST", "/_bulk") for line in r.body]
    assert len(fake.calls("POST", "/_bulk")) == 2
    assert sorted(d["delete"]["_id"] for d in deletes) == sorted(gone)
    assert set(fake.indices[f"{ALIAS}-1"]) == {kept}
