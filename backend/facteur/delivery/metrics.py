"""Prometheus metrics of the delivery service (served by ``--metrics-port``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECIPIENTS = Counter(
    "facteur_delivery_recipients_total",
    "Envelope recipients by what the delivery service answered",
    ["face", "result"],  # face: lmtp | smtp; result: accepted | rejected | temp_failed
)
DATA_LATENCY = Histogram(
    "facteur_delivery_data_duration_seconds",
    "Time from the end of DATA to the reply (storing included)",
    ["face"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SIZE = Histogram(
    "facteur_delivery_batch_messages",
    "Messages stored together in one transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32),
)

ACCEPTED = "accepted"
REJECTED = "rejected"
TEMP_FAILED = "temp_failed"
