"""Recipients, retries, read state, contacts, attachments and metrics of a delivery."""

from __future__ import annotations

import os
import threading
import time
from email.message import EmailMessage

import psycopg
import pytest
from django.db import OperationalError, connection, connections, transaction
from django.db.utils import InterfaceError
from prometheus_client import REGISTRY

from facteur.blobs.services import blob_read
from facteur.domains.services import access_grant, alias_create, domain_create, mailbox_create
from facteur.ingest.services import Outcome, ingest_message
from facteur.mail.models import Attachment, Contact, Message, Thread, UnreadMark
from facteur.users.services import user_create
from tests.ingest.conftest import make_mail


def outcomes(result):
    return [(r.recipient, r.outcome) for r in result.recipients]


def test_retried_delivery_is_stored_once(alice):
    raw = make_mail(mime_id="m1@sender.example")
    first = ingest_message(raw=raw, recipients=["alice@facteur.test"])
    again = ingest_message(raw=raw, recipients=["alice@facteur.test"])

    assert outcomes(again) == [("alice@facteur.test", Outcome.DUPLICATE)]
    assert again.recipients[0].message_id == first.recipients[0].message_id
    assert Message.objects.count() == 1
    assert Thread.objects.get().message_count == 1
    assert UnreadMark.objects.count() == 2  # not marked again
    assert Contact.objects.get(email="bob@sender.example").use_count == 1


def test_retry_without_message_id_is_recognised_by_its_bytes(alice):
    raw = make_mail(mime_id=None)
    ingest_message(raw=raw, recipients=["alice@facteur.test"])
    again = ingest_message(raw=raw, recipients=["alice@facteur.test"])
    assert again.recipients[0].outcome == Outcome.DUPLICATE
    other = ingest_message(raw=raw + b"\r\nP.S.", recipients=["alice@facteur.test"])
    assert other.recipients[0].outcome == Outcome.STORED
    assert Message.objects.count() == 2


def test_same_message_id_different_bytes_are_two_messages(alice):
    ingest_message(
        raw=make_mail(mime_id="m1@x.example", body="a"), recipients=["alice@facteur.test"]
    )
    ingest_message(
        raw=make_mail(mime_id="m1@x.example", body="b"), recipients=["alice@facteur.test"]
    )
    assert Message.objects.filter(mime_id="m1@x.example").count() == 2


def test_each_mailbox_gets_its_own_copy(alice, support):
    raw = make_mail(mime_id="m1@sender.example", cc="support@facteur.test")
    result = ingest_message(raw=raw, recipients=["alice@facteur.test", "support@facteur.test"])

    assert outcomes(result) == [
        ("alice@facteur.test", Outcome.STORED),
        ("support@facteur.test", Outcome.STORED),
    ]
    copies = Message.objects.order_by("mailbox__local_part")
    assert [m.mailbox_id for m in copies] == [alice.pk, support.pk]
    assert copies[0].thread_id != copies[1].thread_id
    assert copies[0].raw_blob_id == copies[1].raw_blob_id  # content-addressed, stored once


def test_alias_and_main_address_share_one_copy(alice):
    raw = make_mail(mime_id="m1@sender.example", to="a.liddell@facteur.test, alice@facteur.test")
    result = ingest_message(raw=raw, recipients=["a.liddell@facteur.test", "<Alice@Facteur.TEST>"])

    assert [r.outcome for r in result.recipients] == [Outcome.STORED, Outcome.STORED]
    assert result.recipients[0].message_id == result.recipients[1].message_id
    assert Message.objects.count() == 1


def test_unknown_recipients_are_reported_not_raised(alice):
    raw = make_mail(mime_id="m1@sender.example")
    result = ingest_message(
        raw=raw, recipients=["nobody@facteur.test", "alice@facteur.test", "x@elsewhere.example"]
    )
    assert outcomes(result) == [
        ("nobody@facteur.test", Outcome.UNKNOWN_RECIPIENT),
        ("alice@facteur.test", Outcome.STORED),
        ("x@elsewhere.example", Outcome.UNKNOWN_RECIPIENT),
    ]
    assert result.recipients[0].message_id is None
    assert result.outcome("ALICE@facteur.test").outcome == Outcome.STORED


def test_only_unknown_recipients_store_nothing(db):
    result = ingest_message(raw=make_mail(mime_id="m1@x.example"), recipients=["a@nowhere.test"])
    assert outcomes(result) == [("a@nowhere.test", Outcome.UNKNOWN_RECIPIENT)]
    assert Message.objects.count() == 0


def test_new_mail_is_unread_for_every_member(alice, alice_user, assistant_user):
    result = ingest_message(
        raw=make_mail(mime_id="m1@x.example"), recipients=["alice@facteur.test"]
    )
    message_id = result.recipients[0].message_id
    marks = UnreadMark.objects.filter(message_id=message_id)
    assert {m.user_id for m in marks} == {alice_user.pk, assistant_user.pk}
    assert {m.mailbox_id for m in marks} == {alice.pk}


@pytest.mark.parametrize("sender", ["alice@facteur.test", "A.Liddell@facteur.test"])
def test_mail_from_the_mailbox_itself_is_sent_and_read(alice, sender):
    raw = make_mail(mime_id="m1@facteur.test", sender=f"Alice <{sender}>", to="bob@sender.example")
    result = ingest_message(raw=raw, recipients=["alice@facteur.test"])
    message = Message.objects.get(pk=result.recipients[0].message_id)
    assert message.is_sender
    assert not UnreadMark.objects.exists()
    assert (message.thread.sent_count, message.thread.inbox_count) == (1, 0)


def test_contacts_are_the_other_people(alice):
    raw = make_mail(
        mime_id="m1@sender.example",
        to="Alice <alice@facteur.test>, Dan <dan@sender.example>",
        cc="a.liddell@facteur.test, Eve <EVE@Sender.Example>",
    )
    ingest_message(raw=raw, recipients=["alice@facteur.test"])
    contacts = dict(Contact.objects.filter(mailbox=alice).values_list("email", "name"))
    assert contacts == {
        "bob@sender.example": "Bob Martin",
        "dan@sender.example": "Dan",
        "eve@sender.example": "Eve",
    }


def test_attachments_are_byte_identical_through_blobs(alice):
    pdf = os.urandom(150_000)
    text = "Zeilen mit Umlauten: äöü\r\n".encode() * 100
    mail = EmailMessage()
    mail["From"] = "bob@sender.example"
    mail["To"] = "alice@facteur.test"
    mail["Subject"] = "Files"
    mail["Message-ID"] = "<files@sender.example>"
    mail.set_content("See attached.")
    mail.add_attachment(pdf, maintype="application", subtype="pdf", filename="report.pdf")
    mail.add_attachment(text, maintype="text", subtype="csv", filename="données.csv")

    result = ingest_message(raw=mail.as_bytes(), recipients=["alice@facteur.test"])

    message = Message.objects.get(pk=result.recipients[0].message_id)
    assert message.has_attachments
    assert message.thread.attachment_count == 1
    stored = {a.filename: a for a in Attachment.objects.filter(message=message)}
    assert blob_read(blob=stored["report.pdf"].blob) == pdf
    assert stored["report.pdf"].size == len(pdf)
    assert blob_read(blob=stored["données.csv"].blob) == text
    assert stored["données.csv"].content_type == "text/csv"


def test_huge_attachment(alice):
    data = os.urandom(20 * 1024 * 1024)
    mail = EmailMessage()
    mail["From"] = "bob@sender.example"
    mail["To"] = "alice@facteur.test"
    mail["Subject"] = "Big file"
    mail.set_content("A big one.")
    mail.add_attachment(data, maintype="application", subtype="octet-stream", filename="big.bin")

    result = ingest_message(raw=mail.as_bytes(), recipients=["alice@facteur.test"])

    message = Message.objects.get(pk=result.recipients[0].message_id)
    assert not message.is_malformed
    attachment = message.attachments.get()
    assert attachment.size == len(data)
    assert blob_read(blob=attachment.blob) == data


def sample(name, labels=None):
    return REGISTRY.get_sample_value(name, labels or {}) or 0


def test_metrics_count_outcomes_and_latency(alice):
    def counts():
        return {
            o: sample("facteur_ingest_messages_total", {"outcome": o})
            for o in ("stored", "duplicate", "malformed", "unknown_recipient")
        }

    before, latency_before = counts(), sample("facteur_ingest_duration_seconds_count")
    raw = make_mail(mime_id="m1@sender.example")
    ingest_message(raw=raw, recipients=["alice@facteur.test", "nobody@facteur.test"])
    ingest_message(raw=raw, recipients=["alice@facteur.test"])
    ingest_message(raw=b"\x00\x01 not mail", recipients=["alice@facteur.test"])
    after = counts()
    assert {o: after[o] - before[o] for o in after} == {
        "stored": 1,
        "duplicate": 1,
        "malformed": 1,
        "unknown_recipient": 1,
    }
    assert sample("facteur_ingest_duration_seconds_count") - latency_before == 3


@pytest.fixture
def shared_mailbox(transactional_db):
    domain = domain_create(name="race.test")
    mailbox = mailbox_create(domain=domain, local_part="team")
    alias_create(mailbox=mailbox, local_part="equipe")
    access_grant(mailbox=mailbox, user=user_create(email="t@people.test"), role="admin")
    return mailbox


def test_concurrent_deliveries_of_the_same_bytes_store_one(shared_mailbox):
    """The other delivery commits between our check and our insert: the constraint decides."""
    raw = make_mail(mime_id="race@sender.example", to="team@race.test")
    inserted, release = threading.Event(), threading.Event()
    other: dict[str, object] = {}

    def deliver_and_hold():
        try:
            with transaction.atomic():
                other["result"] = ingest_message(raw=raw, recipients=["team@race.test"])
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=deliver_and_hold)
    worker.start()
    assert inserted.wait(10)
    # Ours sees no committed copy, inserts, and waits on the unique index until the
    # other transaction commits; then the constraint makes it a duplicate.
    threading.Timer(0.5, release.set).start()
    result = ingest_message(raw=raw, recipients=["equipe@race.test"])
    worker.join(10)

    assert result.recipients[0].outcome == Outcome.DUPLICATE
    assert result.recipients[0].message_id == other["result"].recipients[0].message_id
    assert Message.objects.count() == 1
    assert Thread.objects.count() == 1  # our new thread was rolled back with the message


def test_a_reply_delivered_while_its_parent_commits_joins_its_thread(shared_mailbox):
    """Neither sees the other's row: the conversation lock makes the reply wait and look again."""
    parent = make_mail(mime_id="parent@sender.example", to="team@race.test")
    reply = make_mail(
        mime_id="reply@sender.example",
        to="team@race.test",
        subject="Re: Budget review",
        in_reply_to="parent@sender.example",
        references="<parent@sender.example>",
    )
    inserted, release = threading.Event(), threading.Event()

    def deliver_parent_and_hold():
        try:
            with transaction.atomic():
                ingest_message(raw=parent, recipients=["team@race.test"])
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=deliver_parent_and_hold)
    worker.start()
    assert inserted.wait(10)
    threading.Timer(0.5, release.set).start()
    ingest_message(raw=reply, recipients=["team@race.test"])
    worker.join(10)

    assert Message.objects.count() == 2
    assert Thread.objects.count() == 1


def test_database_failures_propagate(shared_mailbox):
    """Bad input never raises, but a lost database must, so that SMTP answers 4xx."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    settings = connection.get_connection_params()
    with psycopg.connect(**settings, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.1)
    try:
        with pytest.raises((OperationalError, InterfaceError)):
            ingest_message(raw=make_mail(mime_id="m@x.example"), recipients=["team@race.test"])
    finally:
        connection.close()
    assert Message.objects.count() == 0


def test_a_mailbox_created_after_a_miss_is_found_at_once(domain):
    raw = make_mail(mime_id="m1@x.example", to="late@facteur.test")
    first = ingest_message(raw=raw, recipients=["late@facteur.test"])
    assert first.recipients[0].outcome == Outcome.UNKNOWN_RECIPIENT
    mailbox_create(domain=domain, local_part="late")
    again = ingest_message(raw=raw, recipients=["late@facteur.test"])
    assert again.recipients[0].outcome == Outcome.STORED


def test_an_alias_added_in_this_process_is_seen_at_once(alice):
    ingest_message(raw=make_mail(mime_id="m1@x.example"), recipients=["alice@facteur.test"])
    alias_create(mailbox=alice, local_part="boss")
    raw = make_mail(mime_id="m2@facteur.test", sender="boss@facteur.test", to="x@y.example")
    result = ingest_message(raw=raw, recipients=["alice@facteur.test"])
    assert Message.objects.get(pk=result.recipients[0].message_id).is_sender
