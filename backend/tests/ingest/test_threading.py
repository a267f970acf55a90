"""Which thread a delivered message joins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facteur.ingest.services import ingest_message
from facteur.mail.models import Message, Thread
from tests.ingest.conftest import make_mail

T0 = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)


def deliver(raw: bytes, *, to: str = "alice@facteur.test", at: datetime = T0) -> Message:
    result = ingest_message(raw=raw, recipients=[to], received_at=at)
    return Message.objects.get(pk=result.recipients[0].message_id)


def test_reply_joins_its_parent_by_in_reply_to(alice):
    first = deliver(make_mail(mime_id="m1@sender.example"))
    reply = deliver(
        make_mail(
            mime_id="m2@sender.example",
            subject="Something else entirely",
            in_reply_to="m1@sender.example",
        ),
        at=T0 + timedelta(hours=1),
    )
    assert reply.thread_id == first.thread_id
    assert Thread.objects.count() == 1


def test_reply_joins_by_references_when_in_reply_to_is_unknown(alice):
    first = deliver(make_mail(mime_id="m1@sender.example"))
    reply = deliver(
        make_mail(
            mime_id="m3@sender.example",
            subject="Different subject",
            in_reply_to="m2-never-received@sender.example",
            references="<m1@sender.example> <m2-never-received@sender.example>",
        )
    )
    assert reply.thread_id == first.thread_id


def test_parent_arriving_after_its_reply_joins_the_reply(alice):
    reply = deliver(
        make_mail(mime_id="m2@sender.example", subject="Re: Budget", in_reply_to="m1@x.example")
    )
    parent = deliver(make_mail(mime_id="m1@x.example", subject="Budget"))
    assert parent.thread_id == reply.thread_id
    assert Thread.objects.get().message_count == 2


def test_same_message_id_with_other_bytes_is_a_second_message_in_the_same_thread(alice):
    first = deliver(make_mail(mime_id="m1@sender.example", body="first copy"))
    second = deliver(make_mail(mime_id="m1@sender.example", body="list copy, with a footer"))
    assert first.pk != second.pk
    assert first.thread_id == second.thread_id


def test_thread_subject_drops_reply_prefixes(alice):
    message = deliver(make_mail(mime_id="m1@sender.example", subject="RE: Re[2]: Fwd: Budget"))
    assert message.thread.subject == "Budget"
    assert message.subject == "RE: Re[2]: Fwd: Budget"


def test_subject_fallback_joins_a_recent_thread_with_a_shared_participant(alice):
    first = deliver(make_mail(mime_id="m1@sender.example", subject="Budget review 2025"))
    # Broken client: no In-Reply-To or References, only the subject says it is a reply.
    reply = deliver(
        make_mail(mime_id="m2@sender.example", subject="Re: budget review 2025"),
        at=T0 + timedelta(days=2),
    )
    assert reply.thread_id == first.thread_id


def test_subject_fallback_also_for_unmatched_references(alice):
    first = deliver(make_mail(mime_id="m1@sender.example", subject="Budget review 2025"))
    reply = deliver(
        make_mail(
            mime_id="m2@sender.example",
            subject="[ext] Budget review 2025",
            in_reply_to="lost@sender.example",
        )
    )
    assert reply.thread_id == first.thread_id


def test_subject_fallback_never_crosses_mailboxes(alice, support):
    deliver(
        make_mail(mime_id="m1@sender.example", to="support@facteur.test"), to="support@facteur.test"
    )
    reply = deliver(make_mail(mime_id="m2@sender.example", subject="Re: Budget review"))
    assert reply.thread.mailbox_id == alice.pk
    assert reply.thread.message_count == 1


def test_references_never_cross_mailboxes(alice, support):
    deliver(make_mail(mime_id="m1@sender.example"), to="support@facteur.test")
    reply = deliver(make_mail(mime_id="m2@sender.example", in_reply_to="m1@sender.example"))
    assert reply.thread.mailbox_id == alice.pk
    assert reply.thread.message_count == 1


def test_subject_fallback_needs_a_shared_participant(alice):
    first = deliver(make_mail(mime_id="m1@sender.example"))
    other = deliver(
        make_mail(
            mime_id="m2@elsewhere.example",
            subject="Re: Budget review",
            sender="Carol <carol@elsewhere.example>",
        )
    )
    # The mailbox itself is a participant of both; that does not count.
    assert other.thread_id != first.thread_id


def test_subject_fallback_ignores_old_threads(alice):
    first = deliver(make_mail(mime_id="m1@sender.example"))
    late = deliver(
        make_mail(mime_id="m2@sender.example", subject="Re: Budget review"),
        at=T0 + timedelta(days=8),
    )
    assert late.thread_id != first.thread_id


def test_subject_fallback_ignores_generic_subjects(alice):
    first = deliver(make_mail(mime_id="m1@sender.example", subject="Hello"))
    second = deliver(make_mail(mime_id="m2@sender.example", subject="Re: hello"))
    assert second.thread_id != first.thread_id
    third = deliver(make_mail(mime_id="m3@sender.example", subject=""))
    fourth = deliver(make_mail(mime_id="m4@sender.example", subject="Re:"))
    assert third.thread_id != fourth.thread_id


def test_same_subject_without_reply_marks_starts_a_new_thread(alice):
    # Monthly notifications share a subject but are separate conversations.
    first = deliver(make_mail(mime_id="m1@sender.example", subject="Your monthly statement"))
    second = deliver(make_mail(mime_id="m2@sender.example", subject="Your monthly statement"))
    assert second.thread_id != first.thread_id


def test_thread_counters_after_ingest(alice):
    deliver(make_mail(mime_id="m1@sender.example", sender="Bob <bob@sender.example>"))
    deliver(
        make_mail(
            mime_id="m2@facteur.test",
            sender="Alice <alice@facteur.test>",
            to="Bob <bob@sender.example>",
            in_reply_to="m1@sender.example",
            body="Thanks Bob, noted.",
        ),
        at=T0 + timedelta(hours=2),
    )
    thread = Thread.objects.get()
    assert thread.message_count == 2
    assert thread.inbox_count == 1
    assert thread.sent_count == 1
    assert thread.all_count == 2
    assert thread.attachment_count == 0
    assert thread.last_activity_at == T0 + timedelta(hours=2)
    assert thread.snippet == "Thanks Bob, noted."
    assert thread.sender_names == ["Bob", "Alice"]
