"""Prometheus metrics of the web process, and the /metrics view.

With several gunicorn workers, PROMETHEUS_MULTIPROC_DIR makes prometheus-client
aggregate every worker's samples (set by the single-machine runner and the chart).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

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
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry) + generate_latest(_database_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
