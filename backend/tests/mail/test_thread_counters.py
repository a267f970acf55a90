"""Thread counters follow every change to their messages (the anchor project forgot
deletions: a thread kept counting a deleted message)."""

from __future__ import annotations

import pytest

from facteur.mail.models import Thread
from facteur.mail.services.flags import messages_delete, messages_set_flag
from tests import factories


@pytest.fixture
def box(db):
    return factories.mailbox(factories.domain(), "team", shared=True)


def _thread(box, n=3):
    first = factories.message_create(box, subject="Counters")
    for _ in range(n - 1):
        factories.message_create(box, thread=first.thread, subject="Re: Counters")
    return Thread.objects.get(pk=first.thread_id)


def test_counters_after_ingest_like_writes(box):
    thread = _thread(box, 3)
    assert (thread.message_count, thread.inbox_count, thread.all_count) == (3, 3, 3)
    assert thread.attachment_count == 0 and thread.trashed_count == 0


def test_deleting_a_message_updates_counters_and_activity(box):
    thread = _thread(box, 3)
    newest = thread.messages.order_by("-received_at").first()
    second = thread.messages.order_by("-received_at")[1]
    messages_delete(message_ids=[newest.pk])
    thread.refresh_from_db()
    assert thread.message_count == 2
    assert thread.inbox_count == 2
    assert thread.last_activity_at == second.received_at
    assert thread.snippet == second.snippet


def test_deleting_the_last_message_deletes_the_thread(box):
    thread = _thread(box, 1)
    messages_delete(message_ids=list(thread.messages.values_list("id", flat=True)))
    assert not Thread.objects.filter(pk=thread.pk).exists()


def test_trash_spam_archive_star_move_the_thread_between_views(box):
    thread = _thread(box, 2)
    ids = list(thread.messages.values_list("id", flat=True))
    messages_set_flag(user_id=None, message_ids=ids[:1], flag="trashed", value=True)
    thread.refresh_from_db()
    assert (thread.trashed_count, thread.inbox_count, thread.all_count) == (1, 1, 1)
    messages_set_flag(user_id=None, message_ids=ids, flag="starred", value=True)
    thread.refresh_from_db()
    assert thread.starred_count == 1  # a trashed message does not star the thread
    messages_set_flag(user_id=None, message_ids=ids[1:], flag="archived", value=True)
    thread.refresh_from_db()
    assert (thread.inbox_count, thread.archived_count) == (0, 1)
    messages_set_flag(user_id=None, message_ids=ids[1:], flag="spam", value=True)
    thread.refresh_from_db()
    assert (thread.spam_count, thread.archived_count, thread.all_count) == (1, 0, 0)
    messages_set_flag(user_id=None, message_ids=ids[:1], flag="trashed", value=False)
    thread.refresh_from_db()
    assert (thread.trashed_count, thread.inbox_count, thread.all_count) == (0, 1, 1)


def test_sent_and_drafts_are_not_inbox(box):
    msg = factories.message_create(box, subject="Mine", is_sender=True)
    factories.message_create(box, thread=msg.thread, subject="Draft", is_draft=True, is_sender=True)
    thread = Thread.objects.get(pk=msg.thread_id)
    assert (thread.inbox_count, thread.sent_count, thread.draft_count) == (0, 1, 1)
    assert thread.sender_names == ["Alice Martin"]  # drafts do not count as senders


def test_attachment_count(box):
    msg = factories.message_create(box, attachment=b"data")
    assert Thread.objects.get(pk=msg.thread_id).attachment_count == 1
