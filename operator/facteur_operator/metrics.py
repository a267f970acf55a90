"""Prometheus metrics of the operator, served on FACTEUR_OPERATOR_METRICS_PORT when set.

Reconciles by kind and result, their duration, status writes (zero at steady state),
backend sync errors, and the age of each domain's DKIM key.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import kopf
from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter(
    "facteur_operator_reconciles_total",
    "Reconciles by kind and result (ok, invalid, retry, error).",
    ["kind", "result"],
)
RECONCILE_SECONDS = Histogram(
    "facteur_operator_reconcile_duration_seconds",
    "Time one reconcile took.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STATUS_WRITES = Counter(
    "facteur_operator_status_writes_total", "Status patches written, by kind.", ["kind"]
)
BACKEND_ERRORS = Counter(
    "facteur_operator_backend_errors_total",
    "Calls to the backend's internal API that failed, by kind and reason.",
    ["kind", "reason"],
)
DKIM_KEY_AGE = Gauge(
    "facteur_operator_dkim_key_age_seconds",
    "Age of the active DKIM key of each MailDomain.",
    ["namespace", "name"],
)


@asynccontextmanager
async def measured(kind: str) -> AsyncIterator[None]:
    started = time.monotonic()
    result = "error"
    try:
        yield
        result = "ok"
    except kopf.PermanentError:
        result = "invalid"
        raise
    except kopf.TemporaryError:
        result = "retry"
        raise
    finally:
        RECONCILES.labels(kind, result).inc()
        RECONCILE_SECONDS.labels(kind).observe(time.monotonic() - started)
