"""Prometheus metrics of the web process, and the /metrics view; the Celery worker's.

With several gunicorn workers, PROMETHEUS_MULTIPROC_DIR makes prometheus-client
aggregate every worker's samples (set by the single-machine runner and the chart). The
Celery worker's pool processes do the same, and its main process serves them on
FACTEUR_WORKER_METRICS_HOST:FACTEUR_WORKER_METRICS_PORT once it is ready.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from celery.signals import worker_ready
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "facteur_http_requests_total", "HTTP requests handled", ["view", "method", "status"]
)
REQUEST_LATENCY = Histogram(
    "facteur_http_request_duration_seconds",
    "HTTP request latency",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INGESTED = Counter(
    "facteur_ingest_messages_total",
    "Messages stored by ingest, per recipient mailbox",
    ["outcome"],  # stored | duplicate | malformed | unknown_recipient
)
INGEST_LATENCY = Histogram(
    "facteur_ingest_duration_seconds",
    "Time to parse and store one message for all its recipients",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The route name, never the raw path: ids would explode the label set.
        view = (match.view_name or match.route) if match else "unmatched"
        REQUEST_LATENCY.labels(view, request.method).observe(time.perf_counter() - started)
        REQUESTS.labels(view, request.method, str(response.status_code)).inc()
        return response


def _database_registry() -> CollectorRegistry:
    """Families computed from the database at scrape time (one answer for every worker)."""
    from facteur.sending.metrics import OutboundBacklogCollector  # models: not at import

    registry = CollectorRegistry(auto_describe=False)
    registry.register(OutboundBacklogCollector())
    return registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    body = generate_latest(_process_registry()) + generate_latest(_database_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _process_registry() -> CollectorRegistry:
    """Every process's samples when PROMETHEUS_MULTIPROC_DIR is set, else this one's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


@worker_ready.connect
def serve_worker_metrics(**_: object) -> None:
    """In the Celery worker's main process: its pool processes' samples over HTTP."""
    port = settings.FACTEUR_WORKER_METRICS_PORT
    if not port:
        return
    host = settings.FACTEUR_WORKER_METRICS_HOST
    start_http_server(port, addr=host, registry=_process_registry())
    log.info("worker metrics on http://%s:%d/metrics", host, port)
