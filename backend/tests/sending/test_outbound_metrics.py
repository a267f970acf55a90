"""The outbound queue in the web's /metrics: it follows the database as mail is queued, sent,
deferred and failed, and /metrics still answers when the database does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from facteur.mail.models import MessageRecipient
from facteur.sending import services
from tests import factories
from tests.sending import outbound
from tests.sending.smtp_sink import sink  # noqa: F401  (fixture)
from tests.sending.worker_process import celery_worker
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def scrape() -> dict[tuple[str, tuple], float]:
    response = Client().get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name.startswith("facteur_outbound_")
    }


def backlog() -> tuple[float, float, float, float]:
    """queued, retrying, due, oldest due (seconds)."""
    samples = scrape()
    pending = "facteur_outbound_pending_recipients"
    return (
        samples[(pending, (("status", "queued"),))],
        samples[(pending, (("status", "retrying"),))],
        samples[("facteur_outbound_due_recipients", ())],
        samples[("facteur_outbound_oldest_due_seconds", ())],
    )


@pytest.fixture
def box():
    return factories.mailbox(factories.domain("sender.test"), "chloe")


def test_the_backlog_follows_the_queue(sink, box, django_capture_on_commit_callbacks):  # noqa: F811
    assert backlog() == (0, 0, 0, 0)
    outbound.draft(box, to=[{"email": "draft@elsewhere.test"}])  # a draft is not queued
    assert backlog() == (0, 0, 0, 0)

    sink.answer(r"^later@", "451 4.3.0 Try again later")
    sink.answer(r"^nobody@", "550 5.1.1 No such user")
    people = ("ok", "later", "nobody")
    draft = outbound.draft(box, to=[{"email": f"{p}@elsewhere.test"} for p in people])
    message = outbound.queued_and_due(draft, django_capture_on_commit_callbacks)
    queued, retrying, due, oldest = backlog()
    assert (queued, retrying, due) == (3, 0, 3) and 0 < oldest < 60

    # Due for ten minutes: the oldest-due age says so.
    message.__class__.objects.filter(pk=message.pk).update(
        send_at=timezone.now() - timedelta(minutes=10)
    )
    assert 600 <= backlog()[3] < 660

    # One sent, one failed: out of the queue; one deferred: retrying, not due yet.
    services.message_send(message_id=message.pk)
    assert backlog() == (0, 1, 0, 0)

    # Its retry time passes: due again.
    MessageRecipient.objects.filter(message=message, email="later@elsewhere.test").update(
        retry_at=timezone.now() - timedelta(minutes=2)
    )
    _, retrying, due, oldest = backlog()
    assert (retrying, due) == (1, 1) and 120 <= oldest < 180

    sink.answer_all_ok()
    services.message_send(message_id=message.pk)
    assert backlog() == (0, 0, 0, 0)


def test_a_scheduled_send_is_pending_but_not_due(box, django_capture_on_commit_callbacks):
    draft = outbound.draft(box, to=[{"email": "later@elsewhere.test"}])
    with django_capture_on_commit_callbacks(execute=False):
        services.message_send_request(draft=draft, send_at=timezone.now() + timedelta(days=1))
    assert backlog() == (1, 0, 0, 0)


def test_metrics_answer_without_the_backlog_when_the_database_fails(box):
    # The recipients' table out of reach (renamed inside the test's transaction, which is
    # rolled back): the backlog's query fails as it would with the database in trouble.
    table = MessageRecipient._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')
    response = Client().get("/metrics")
    assert response.status_code == 200
    body = response.content.decode()
    assert "facteur_http_requests_total" in body
    assert "facteur_outbound_pending_recipients" not in body


# --- the send attempts, counted where mail is sent -------------------------------------------
def attempts(route: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "facteur_outbound_attempts_total", {"route": route, "result": result}
    )
    return value or 0.0


def test_each_attempt_is_counted_by_route_and_result(sink, box, django_capture_on_commit_callbacks):  # noqa: F811
    factories.mailbox(box.domain, "paul")  # a local recipient
    sink.answer(r"^later@", "451 4.3.0 Try again later")
    sink.answer(r"^nobody@", "550 5.1.1 No such user")
    before = {
        key: attempts(*key)
        for key in (
            ("remote", "sent"),
            ("remote", "deferred"),
            ("remote", "failed"),
            ("local", "sent"),
        )
    }
    people = (
        "ok@elsewhere.test",
        "later@elsewhere.test",
        "nobody@elsewhere.test",
        "paul@sender.test",
    )
    draft = outbound.draft(box, to=[{"email": p} for p in people])
    message = outbound.queued_and_due(draft, django_capture_on_commit_callbacks)
    services.message_send(message_id=message.pk)
    assert {key: attempts(*key) - value for key, value in before.items()} == {
        ("remote", "sent"): 1,
        ("remote", "deferred"): 1,
        ("remote", "failed"): 1,
        ("local", "sent"): 1,
    }
    # The retry that succeeds counts once more, as sent.
    sink.answer_all_ok()
    MessageRecipient.objects.filter(message=message, email="later@elsewhere.test").update(
        retry_at=timezone.now()
    )
    services.message_send(message_id=message.pk)
    assert attempts("remote", "sent") - before[("remote", "sent")] == 2
    assert attempts("remote", "deferred") - before[("remote", "deferred")] == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_serves_its_attempts(sink, box, settings, tmp_path):  # noqa: F811
    """A real `celery worker` (prefork: the pool's processes write their samples to
    PROMETHEUS_MULTIPROC_DIR) sends through the relay and serves the count."""
    relay = {"FACTEUR_RELAY_HOST": settings.FACTEUR_RELAY_HOST,
             "FACTEUR_RELAY_PORT": str(settings.FACTEUR_RELAY_PORT)}  # fmt: skip
    with celery_worker(tmp_path, **relay) as worker:
        draft = outbound.draft(box, to=[{"email": "ok@elsewhere.test"}])
        services.message_send_request(draft=draft, send_at=timezone.now() + timedelta(seconds=1))
        sent = 'facteur_outbound_attempts_total{result="sent",route="remote"} 1.0'
        wait_until(lambda: sent in (worker.metrics() or ""), timeout=60)
    assert [r.rcpt_tos for r in sink.received] == [["ok@elsewhere.test"]]
