"""The OpenSearch backend against a real server: set OPENSEARCH_URL (and, for a secured
cluster, FACTEUR_OPENSEARCH_USERNAME / _PASSWORD / _CA_FILE in the environment).

Skipped otherwise, with the reason in the test summary (pytest runs with ``-ra``):
no OpenSearch server can run on the development machines, where
test_opensearch_backend.py checks the request bodies instead.
"""

from __future__ import annotations

import os
import secrets

import pytest

from facteur.config.celery import app as celery_app
from facteur.domains.services import mailbox_create
from facteur.mail.models import Message
from facteur.mail.services.flags import messages_set_flag
from facteur.search import opensearch_index
from facteur.search.backends import backend
from tests.search.conftest import deliver, subjects
from tests.search.test_postgres_backend import CASES, mail  # noqa: F401 - the same mail

pytestmark = pytest.mark.skipif(
    not os.environ.get("OPENSEARCH_URL"),
    reason="OPENSEARCH_URL is not set: no OpenSearch server to test against"
    " (the request-level tests in test_opensearch_backend.py ran instead)",
)


@pytest.fixture
def server(settings, db):
    settings.FACTEUR_SEARCH_BACKEND = "opensearch"
    settings.FACTEUR_OPENSEARCH_URL = os.environ["OPENSEARCH_URL"]
    settings.FACTEUR_OPENSEARCH_INDEX_PREFIX = f"facteur-test-{secrets.token_hex(4)}"
    backend.cache_clear()
    opensearch_index.client.cache_clear()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    index = opensearch_index.reindex()  # the template, a first index and the alias
    yield opensearch_index.client()
    client = opensearch_index.client()
    client.indices.delete(index=f"{opensearch_index.alias()}-*")
    client.indices.delete_index_template(name=opensearch_index.alias())
    celery_app.conf.task_always_eager = eager
    backend.cache_clear()
    opensearch_index.client.cache_clear()
    assert index


def write_all(client) -> None:
    """Index every message now (the tests' transaction never commits) and make it visible."""
    opensearch_index.bulk_write(list(Message.objects.values_list("id", flat=True)))
    client.indices.refresh(index=opensearch_index.alias())


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_operators(server, owner, box, mail, text, expected):  # noqa: F811
    write_all(server)
    assert sorted(subjects(owner, [box], text)) == sorted(expected)


def test_another_mailbox_never_appears(server, owner, box, mail):  # noqa: F811
    other = mailbox_create(domain=box.domain, local_part="autre", display_name="Autre")
    deliver(other.address, subject="Budget secret", body="budget budget budget")
    write_all(server)
    for text in ["budget", "", "in:anywhere", "-nothing", "budget OR secret"]:
        assert "Budget secret" not in subjects(owner, [box], text)
    assert subjects(owner, [other], "secret") == ["Budget secret"]


def test_flags_follow_after_reindexing_the_message(server, owner, box, mail):  # noqa: F811
    write_all(server)
    invoice = Message.objects.get(subject="Invoice")
    messages_set_flag(user_id=owner.pk, message_ids=[invoice.pk], flag="starred", value=True)
    write_all(server)  # what the task queued on commit does
    assert subjects(owner, [box], "is:starred") == ["Invoice"]


def test_reindex_swaps_without_losing_documents(server, owner, box, mail):  # noqa: F811
    write_all(server)
    before = sorted(subjects(owner, [box], ""))
    new = opensearch_index.reindex()
    server.indices.refresh(index=opensearch_index.alias())
    assert list(server.indices.get_alias(name=opensearch_index.alias())) == [new]
    assert sorted(subjects(owner, [box], "")) == before
