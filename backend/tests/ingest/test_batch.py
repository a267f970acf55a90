"""Group commit: several messages stored in one transaction, and what a failure does."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from facteur.blobs.models import Blob
from facteur.domains.services import access_grant, domain_create, mailbox_create
from facteur.ingest import batch
from facteur.ingest.batch import Received, ingest_batch
from facteur.ingest.services import IngestResult, Outcome, ingest_message
from facteur.mail.models import Contact, Message, Thread, UnreadMark
from facteur.users.services import user_create
from tests.ingest.conftest import make_mail
from tests.refusals import messages_refused


@pytest.fixture
def team(transactional_db):
    """team@batch.test, read by one person; committed, as in the delivery service."""
    mailbox = mailbox_create(domain=domain_create(name="batch.test"), local_part="team")
    access_grant(mailbox=mailbox, user=user_create(email="t@people.test"), role="admin")
    return mailbox


@pytest.fixture
def poisoned_subject(transactional_db) -> Iterator[str]:
    with messages_refused("poison"):
        yield "poison"


def mail(n: int, **kwargs) -> Received:
    return Received(
        make_mail(mime_id=f"m{n}@sender.example", to="team@batch.test", **kwargs),
        ["team@batch.test"],
    )


def transactions_of(messages) -> set[str]:
    """The transactions that wrote these messages' rows (xmin)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT xmin::text FROM mail_message WHERE id = ANY(%s)",
            [[m.pk for m in messages]],
        )
        return {row[0] for row in cursor.fetchall()}


def stored(result: IngestResult) -> bool:
    return [r.outcome for r in result.recipients] == [Outcome.STORED]


def ingested(outcome: str) -> float:
    return REGISTRY.get_sample_value("facteur_ingest_messages_total", {"outcome": outcome}) or 0


def test_a_batch_is_one_transaction(team):
    results = ingest_batch([mail(1), mail(2, subject="Other"), mail(3, subject="Third")])

    assert all(stored(r) for r in results)
    messages = list(Message.objects.all())
    assert len(messages) == 3
    assert len(transactions_of(messages)) == 1
    assert Thread.objects.count() == 3
    assert UnreadMark.objects.count() == 3
    # Contacts are one statement for the batch: one use per message all the same.
    assert Contact.objects.get(email="bob@sender.example").use_count == 3


def test_contacts_of_a_batch_keep_the_latest_name_and_count_each_message(team):
    results = ingest_batch([
        mail(1, sender="Bob Martin <bob@sender.example>", cc="carol@x.example"),
        mail(2, sender="bob@sender.example", subject="Two"),  # no name: the last one stays
        mail(3, sender="Robert Martin <BOB@sender.example>", subject="Three"),
        mail(4, sender="bob@sender.example", cc="bob@sender.example", subject="Four"),
    ])  # fmt: skip

    assert all(stored(r) for r in results)
    bob = Contact.objects.get(email="bob@sender.example")
    assert (bob.name, bob.use_count) == ("Robert Martin", 4)  # once per message
    assert Contact.objects.get(email="carol@x.example").use_count == 1


def test_a_reply_in_the_same_batch_joins_its_parent(team):
    reply = mail(
        2, subject="Re: Budget review", in_reply_to="m1@sender.example",
        references="<m1@sender.example>",
    )  # fmt: skip
    results = ingest_batch([mail(1), reply])

    assert all(stored(r) for r in results)
    assert Thread.objects.count() == 1
    assert Thread.objects.get().message_count == 2


def test_a_thread_revived_earlier_in_the_batch_is_found_by_subject(team):
    """Thread counters and dates are refreshed once per batch, but before a lookup by
    subject, which reads the activity date."""
    old = mail(1)
    ingest_message(
        raw=old.raw, recipients=old.recipients, received_at=timezone.now() - timedelta(days=10)
    )
    answer = mail(2, subject="Re: Budget review", in_reply_to="m1@sender.example")
    subject_only = mail(3, subject="Re: Budget review")  # no reference: matched by subject
    results = ingest_batch([answer, subject_only])

    assert all(stored(r) for r in results)
    assert Thread.objects.count() == 1
    assert Thread.objects.get().message_count == 3


def test_a_retry_in_a_batch_is_a_duplicate(team):
    first = ingest_message(raw=mail(1).raw, recipients=["team@batch.test"])
    results = ingest_batch([mail(1), mail(2, subject="New"), mail(2, subject="New")])

    kept = first.recipients[0].message_id
    assert [(r.recipients[0].outcome, r.recipients[0].message_id == kept) for r in results] == [
        (Outcome.DUPLICATE, True),
        (Outcome.STORED, False),
        (Outcome.DUPLICATE, False),
    ]
    assert results[2].recipients[0].message_id == results[1].recipients[0].message_id
    assert Message.objects.count() == 2


def test_one_failing_message_fails_alone(team, poisoned_subject):
    before = ingested("stored")
    bad = mail(2, subject=poisoned_subject)
    results = ingest_batch([mail(1), bad, mail(3, subject="Third")])

    assert stored(results[0]) and stored(results[2])
    assert isinstance(results[1], Exception) and "refused by a test" in str(results[1])
    # The others went again one by one: each committed once, nothing of the bad one.
    assert sorted(Message.objects.values_list("mime_id", flat=True)) == [
        "m1@sender.example",
        "m3@sender.example",
    ]
    assert len(transactions_of(Message.objects.all())) == 2
    assert not Thread.objects.filter(subject=poisoned_subject).exists()
    assert not Blob.objects.filter(sha256=hashlib.sha256(bad.raw).hexdigest()).exists()
    assert UnreadMark.objects.count() == 2
    # Outcomes are counted once committed: the rolled-back attempt counts for nothing.
    assert ingested("stored") - before == 2


def test_a_single_message_goes_alone(team, poisoned_subject):
    assert isinstance(ingest_batch([mail(1, subject=poisoned_subject)])[0], Exception)
    assert stored(ingest_batch([mail(2)])[0])
    assert Message.objects.count() == 1


def test_a_message_alone_waits_for_its_mailbox_like_a_batch(team):
    """Every transaction of ingest_batch locks its mailboxes first, a single message
    included: one writing alone and a batch never wait for each other in a cycle."""
    results = []

    def deliver_alone():
        try:
            results.extend(ingest_batch([mail(1)]))
        finally:
            connections.close_all()

    worker = threading.Thread(target=deliver_alone)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [batch._lock_key(team.pk)])
        worker.start()
        time.sleep(0.5)
        assert not results  # waiting for the mailbox
    worker.join(10)
    assert stored(results[0])
