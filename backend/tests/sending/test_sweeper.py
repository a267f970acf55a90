"""The sweeper: sends whose task was lost are queued again, and nothing is sent twice."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from facteur import celery_app
from facteur.mail.models import DeliveryStatus, Message, MessageRecipient
from facteur.sending import services, tasks
from tests import factories
from tests.sending import outbound
from tests.sending.smtp_sink import sink  # noqa: F401  (fixture)
from tests.waiting import wait_until

AGO = timedelta(minutes=10)  # past the sweeper's grace
RECENT = timedelta(minutes=1)  # within it


@pytest.fixture
def box(db):
    return factories.mailbox(factories.domain("sweep.test"), "chloe")


@pytest.fixture
def empty_queue():
    """Tasks the sweeper queues for rows a test rolls back are dropped afterwards."""
    yield
    celery_app.control.purge()


def _queued(box, email: str, *, send_at) -> Message:
    message = outbound.draft(box, to=[{"email": email}])
    services.message_send_request(draft=message)  # its task would go out at commit
    Message.objects.filter(pk=message.pk).update(send_at=send_at)
    return message


@pytest.mark.django_db
def test_sweep_requeues_only_overdue_sends_once_per_grace(box, empty_queue):
    now = timezone.now()
    lost = _queued(box, "lost@elsewhere.test", send_at=now - AGO)
    fresh = _queued(box, "fresh@elsewhere.test", send_at=now - RECENT)
    _queued(box, "later@elsewhere.test", send_at=now + timedelta(days=1))
    waiting_lost = _queued(box, "wait1@elsewhere.test", send_at=now - timedelta(days=1))
    waiting = _queued(box, "wait2@elsewhere.test", send_at=now - timedelta(days=1))
    done = _queued(box, "done@elsewhere.test", send_at=now - timedelta(days=1))
    MessageRecipient.objects.filter(message=waiting_lost).update(
        delivery_status=DeliveryStatus.RETRYING, retry_count=2, retry_at=now - AGO
    )
    MessageRecipient.objects.filter(message=waiting).update(
        delivery_status=DeliveryStatus.RETRYING, retry_count=2, retry_at=now + timedelta(hours=1)
    )
    MessageRecipient.objects.filter(message=done).update(delivery_status=DeliveryStatus.FAILED)
    outbound.draft(box, to=[{"email": "draft@elsewhere.test"}])

    assert set(services.sends_sweep(now=now)) == {lost.pk, waiting_lost.pk}
    # Made due now: the next sweeps (every minute) leave them alone for a grace period...
    assert lost.recipients.get().retry_at == now
    assert services.sends_sweep(now=now + RECENT) == []
    # ...after which, if their task was lost again, they are queued again.
    assert set(services.sends_sweep(now=now + AGO)) == {lost.pk, waiting_lost.pk, fresh.pk}
    assert waiting.recipients.get().retry_at > now  # its backoff is left alone


@pytest.mark.django_db
def test_sweep_is_bounded(box, empty_queue, monkeypatch):
    for i in range(4):
        _queued(box, f"lost{i}@elsewhere.test", send_at=timezone.now() - AGO)
    monkeypatch.setattr(services, "SWEEP_BATCH", 3)
    assert len(services.sends_sweep()) == 3
    assert len(services.sends_sweep()) == 1  # the rest at the next sweep


def test_the_sweeper_runs_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["sending-sweep"]
    assert entry == {"task": "facteur.sending.tasks.sends_sweep", "schedule": 60}
    assert entry["task"] == tasks.sends_sweep.name


def _send_here(message_id) -> None:
    try:
        services.message_send(message_id=message_id)
    finally:
        connection.close()  # this thread's own connection


@pytest.mark.django_db(transaction=True)
def test_a_lost_task_is_recovered_and_nothing_is_sent_twice(sink, settings):  # noqa: F811
    settings.FACTEUR_SEND_UNDO_SECONDS = 0
    box = factories.mailbox(factories.domain("sweep.test"), "chloe")
    message = services.message_send_request(
        draft=outbound.draft(box, to=[{"email": "alice@elsewhere.test"}])
    )
    # The task went to Redis at commit; Redis loses it (flushed) before any worker ran.
    celery_app.control.purge()
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now() - AGO)

    def sent() -> bool:
        return outbound.statuses(message) == {"alice@elsewhere.test": DeliveryStatus.SENT}

    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        # The beat's sweep, and at the same time the original task after all (it was only
        # late) in the worker, and a third run right here: one of them sends, once.
        tasks.sends_sweep.delay()
        tasks.message_send.delay(str(message.pk))
        here = threading.Thread(target=_send_here, args=[message.pk])
        here.start()
        here.join(timeout=60)
        assert wait_until(sent)
        time.sleep(1.5)  # let the queued runs finish: they must find nothing to do
    assert len(sink.received) == 1
    assert sink.received[0].rcpt_tos == ["alice@elsewhere.test"]
    # A later sweep finds nothing left to recover.
    assert services.sends_sweep(now=timezone.now() + AGO) == []
    celery_app.control.purge()  # the losers' re-runs, queued for later


@pytest.mark.django_db(transaction=True)
def test_a_lost_retry_is_recovered(sink, settings):  # noqa: F811
    settings.FACTEUR_SEND_UNDO_SECONDS = 0
    box = factories.mailbox(factories.domain("sweep.test"), "chloe")
    sink.answer(r"^alice@", "451 4.3.0 Try again later")
    message = services.message_send_request(
        draft=outbound.draft(box, to=[{"email": "alice@elsewhere.test"}])
    )
    celery_app.control.purge()
    assert services.message_send(message_id=message.pk) == pytest.approx(60, abs=5)
    # Its next run (in a minute) is lost too; ten minutes later the sweeper sees it.
    celery_app.control.purge()
    MessageRecipient.objects.filter(message=message).update(retry_at=timezone.now() - AGO)
    sink.answer_all_ok()
    with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        assert services.sends_sweep() == [message.pk]
        assert wait_until(
            lambda: outbound.statuses(message) == {"alice@elsewhere.test": DeliveryStatus.SENT}
        )
    assert [r.rcpt_tos for r in sink.received] == [["alice@elsewhere.test"]]


def _chain_of(message) -> str | None:
    return cache.get(services._chain_key(message.pk))


@pytest.mark.django_db
def test_one_chain_of_runs_goes_on_however_often_a_send_is_requeued(
    box, empty_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = _queued(box, "alice@elsewhere.test", send_at=timezone.now() - AGO)
    first = _chain_of(message)  # the request's task
    assert first is not None
    assert services.sends_sweep() == [message.pk]  # the sweeper takes over
    second = _chain_of(message)
    assert second not in (None, first)
    # The request's task, late after all, delivers what is due but queues nothing more;
    # the sweeper's run goes on, under a new token.
    assert not services.message_send_continue(message_id=message.pk, token=first, wait=60)
    assert _chain_of(message) == second
    assert services.message_send_continue(message_id=message.pk, token=second, wait=60)
    third = _chain_of(message)
    assert third not in (first, second)
    assert not services.message_send_continue(message_id=message.pk, token=second, wait=60)
    # A run queued before runs had tokens, or whose chain the cache forgot, goes on.
    cache.delete(services._chain_key(message.pk))
    assert services.message_send_continue(message_id=message.pk, token=None, wait=60)
