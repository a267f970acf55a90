"""Outbound mail as Prometheus sees it.

``ATTEMPTS`` counts what each send attempt did, in the process that sends (the
Celery worker, which serves it: facteur/ops/metrics.py ``serve_worker_metrics``).

The queue is computed at each scrape from the database, which is the queue
(recipients ``queued`` or ``retrying`` of messages that are not drafts; the tasks only
carry ids): counting there gives the same answer in every web pod and survives a lost
task or a flushed Redis, which is what the backlog alert is for.
Served by the web's /metrics (facteur/ops/metrics.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Count, Min
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import facteur.ops.metrics  # noqa: F401  (the worker serves ATTEMPTS: serve_worker_metrics)
from facteur.mail.models import DeliveryStatus, MessageRecipient

log = logging.getLogger(__name__)

PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.RETRYING)

ATTEMPTS = Counter(
    "facteur_outbound_attempts_total",
    "Recipients of outgoing mail by what one send attempt gave",
    # route: local (one of our mailboxes) | remote (the relay or an MX);
    # result: sent | deferred (4xx, retried later) | failed (5xx or out of retries)
    ["route", "result"],
)

# Every series exists from the start, at 0: rate() and the failure ratio see the first one.
for _route in ("local", "remote"):
    for _result in ("sent", "deferred", "failed"):
        ATTEMPTS.labels(_route, _result)


def attempt_result(status: str) -> str:
    """The counter's result of a recipient's status after an attempt."""
    if status == DeliveryStatus.RETRYING:
        return "deferred"
    if status == DeliveryStatus.FAILED:
        return "failed"
    return "sent"


def _pending():
    return MessageRecipient.objects.filter(delivery_status__in=PENDING, message__is_draft=False)


class OutboundBacklogCollector(Collector):
    def __init__(self, now=timezone.now) -> None:
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now: datetime = self.now()
        try:
            by_status = dict(
                _pending()
                .order_by()
                .values_list("delivery_status")
                .annotate(count=Count("id"))
                .values_list("delivery_status", "count")
            )
            # When each recipient is due: its retry time, else its message's send time.
            due = _pending().annotate(due=Coalesce("retry_at", "message__send_at"))
            overdue = due.filter(due__lte=now).aggregate(oldest=Min("due"), n=Count("id"))
            oldest, overdue_count = overdue["oldest"], overdue["n"]
        except DatabaseError:
            # /metrics still answers (HTTP metrics); the gap in these series says why.
            log.warning("outbound backlog metrics: the database did not answer", exc_info=True)
            return
        pending = GaugeMetricFamily(
            "facteur_outbound_pending_recipients",
            "Recipients of sent messages waiting for delivery (scheduled ones included)",
            labels=["status"],
        )
        for status in PENDING:
            pending.add_metric([str(status)], by_status.get(status, 0))
        yield pending
        yield GaugeMetricFamily(
            "facteur_outbound_due_recipients",
            "Recipients whose delivery (or retry) time has come and who are still waiting",
            value=overdue_count,
        )
        yield GaugeMetricFamily(
            "facteur_outbound_oldest_due_seconds",
            "How long the longest-waiting due recipient has been due (0: none)",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
