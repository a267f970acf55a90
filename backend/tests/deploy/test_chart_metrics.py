"""Every metric the chart's alerts and Grafana dashboard use is one the components serve.

The names are collected from the real endpoints: the web's /metrics view (through Django's
test client, after a request so that its histograms have samples; with the database, which
the outbound backlog is counted in), the operator's
prometheus_client server, started as facteur_operator.handlers starts it, on loopback, and
a real ``facteur-delivery`` process started as the chart starts it (--metrics-host on an
address other than the default, 127.0.0.2, as the pod's address would be), a real
prefork ``celery worker`` serving its pool's samples, and the MTA queue exporter
(``python -m facteur_mta.queue_metrics``, unprivileged) reading a real Postfix's queue.
The exposition's TYPE lines give each family's type, hence its sample names (a counter's
_total, a histogram's _bucket/_sum/_count), with or without samples yet.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from django.test import Client
from prometheus_client import start_http_server
from prometheus_client.parser import text_string_to_metric_families

import facteur_operator.metrics  # noqa: F401  (registers the operator's metrics)
from tests.delivery.process import DeliveryProcess
from tests.deploy.chart import SCENARIOS, render
from tests.deploy.paths import ROOT
from tests.mta import postfix_instance
from tests.mta.queue_instance import exporter, scrape, stuck_queue
from tests.net import free_port
from tests.sending.worker_process import celery_worker

SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created", ""),
    "info": ("_info",),
    "unknown": ("",),
}
METRIC = re.compile(r"\b(facteur_[a-z0-9_]+)\b")


def sample_names(exposition: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


@pytest.fixture
def web_names(db) -> set[str]:  # db: the outbound backlog is counted in the database
    client = Client()
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    return sample_names(response.content.decode())


@pytest.fixture(scope="module")
def operator_names() -> set[str]:
    server, thread = start_http_server(0, addr="127.0.0.1")
    try:
        body = requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5).text
    finally:
        server.shutdown()
        thread.join(timeout=5)
    return sample_names(body)


@pytest.fixture(scope="module")
def delivery_names(tmp_path_factory) -> set[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("delivery") / "delivery.log"
    process = DeliveryProcess(
        log, lmtp_port=free_port(), metrics_port=port, args=("--metrics-host", "127.0.0.2")
    )
    try:
        body = requests.get(f"http://127.0.0.2:{port}/metrics", timeout=5).text
    finally:
        process.stop()
    return sample_names(body)


@pytest.fixture(scope="module")
def worker_names(tmp_path_factory) -> set[str]:
    with celery_worker(tmp_path_factory.mktemp("worker")) as worker:
        return sample_names(worker.metrics() or "")


@pytest.fixture(scope="module")
def mta_names() -> set[str]:
    if not postfix_instance.postfix_available():
        pytest.skip("needs Postfix as root (scripts/peers) for the MTA queue exporter")
    port = free_port()
    with stuck_queue() as queue, exporter(queue, port):
        return sample_names(scrape(port))


@pytest.fixture
def served(
    web_names, operator_names, delivery_names, worker_names, mta_names
) -> dict[str, set[str]]:
    """The names each alert group may use: its component's."""
    return {
        "facteur-web": web_names,
        "facteur-operator": operator_names,
        "facteur-delivery": delivery_names,
        "facteur-worker": worker_names,
        "facteur-mta": mta_names,
    }


@pytest.fixture(scope="module")
def monitoring():
    rendered = render(SCENARIOS["production"])
    (rule,) = rendered.kind("PrometheusRule")
    (dashboard,) = [
        doc for doc in rendered.kind("ConfigMap") if doc["metadata"]["name"].endswith("-dashboard")
    ]
    return rule, json.loads(dashboard["data"]["facteur.json"])


@pytest.mark.slow  # starts facteur-delivery, a celery worker and Postfix
def test_alerts_use_served_metrics(monitoring, served) -> None:
    rule, _ = monitoring
    groups = {group["name"]: group["rules"] for group in rule["spec"]["groups"]}
    assert set(groups) == set(served)
    for name, rules in groups.items():
        for alert in rules:
            used = set(METRIC.findall(alert["expr"]))
            assert used, alert["alert"]
            assert used <= served[name], f"{alert['alert']}: {used - served[name]}"


@pytest.mark.slow  # starts facteur-delivery, a celery worker and Postfix
def test_dashboard_uses_served_metrics(monitoring, served) -> None:
    _, dashboard = monitoring
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in METRIC.findall(expr)}
    every = set().union(*served.values())
    assert used and used <= every, used - every
    # Each component has its panels.
    for names in served.values():
        assert used & names


def test_every_alert_has_a_runbook(monitoring) -> None:
    rule, _ = monitoring
    operations = (ROOT / "docs" / "operations.md").read_text()
    for group in rule["spec"]["groups"]:
        for alert in group["rules"]:
            anchor = alert["annotations"]["runbook_url"].rpartition("#")[2]
            assert anchor == alert["alert"].lower()
            assert f"### {alert['alert']}" in operations, alert["alert"]


def test_monitoring_is_off_by_default() -> None:
    kinds = {doc["kind"] for doc in render(SCENARIOS["minimal"]).documents}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
