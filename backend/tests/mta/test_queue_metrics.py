"""The Postfix queue exporter (facteur_mta.queue_metrics) against a real MTA-out whose mail
is stuck: deferred (the relay refuses connections) and held (postsuper -h). It reads the
queue as the sidecar would, unprivileged with only the postdrop group and no privilege
gain (setpriv --no-new-privs, as allowPrivilegeEscalation: false), and serves it over HTTP."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from facteur_mta import queue_metrics
from tests.mta import postfix_instance
from tests.mta.queue_instance import StuckQueue, exporter, scrape, stuck_queue, unprivileged
from tests.net import free_port


def samples(command: list[str]) -> dict[tuple[str, str], float]:
    """(metric, queue label) -> value, from the exposition of a registry with the collector."""
    exposition = generate_latest(queue_metrics.registry_for(command)).decode()
    return {
        (sample.name, sample.labels.get("queue", "")): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


@pytest.fixture(scope="module")
def queue() -> Iterator[StuckQueue]:
    with stuck_queue() as stuck:
        yield stuck


needs_postfix = pytest.mark.skipif(
    not postfix_instance.postfix_available(), reason="needs Postfix as root (scripts/peers)"
)


@needs_postfix
@pytest.mark.slow
def test_counts_and_ages_of_a_real_queue(queue: StuckQueue) -> None:
    started = time.time()
    command = unprivileged(queue_metrics.postqueue_command(str(queue.instance.config)))
    found = samples(command)
    assert found[("facteur_mta_queue_up", "")] == 1
    assert found[("facteur_mta_queue_messages", "deferred")] == 1
    assert found[("facteur_mta_queue_recipients", "deferred")] == 2
    assert found[("facteur_mta_queue_messages", "hold")] == 1
    assert found[("facteur_mta_queue_recipients", "hold")] == 1
    for empty in ("maildrop", "incoming", "active"):
        assert found[("facteur_mta_queue_messages", empty)] == 0
        assert found[("facteur_mta_queue_oldest_message_age_seconds", empty)] == 0
    real = {m["queue_id"]: m for m in queue.instance.queue()}
    assert (
        found[("facteur_mta_queue_size_bytes", "deferred")]
        == (real[queue.deferred_id]["message_size"])
    )
    age = found[("facteur_mta_queue_oldest_message_age_seconds", "deferred")]
    assert 0 <= age <= started - real[queue.deferred_id]["arrival_time"] + 5


@needs_postfix
@pytest.mark.slow
def test_without_the_postdrop_group_the_queue_is_unreadable(queue: StuckQueue) -> None:
    """Why the sidecar needs that group: showq's socket is under public/ (postfix:postdrop)."""
    command = unprivileged(
        queue_metrics.postqueue_command(str(queue.instance.config)), group="nogroup"
    )
    assert samples(command) == {("facteur_mta_queue_up", ""): 0}


@needs_postfix
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_reads_the_spool_mounted_read_only(queue: StuckQueue) -> None:
    """The sidecar may mount the pod's spool volume read-only: showq's socket is connected
    to, nothing is written (here in a private mount namespace, the spool bound read-only)."""
    spool = queue.instance.root / "spool"
    command = unprivileged(queue_metrics.postqueue_command(str(queue.instance.config)))
    script = (
        f"mount --bind {spool} {spool} && mount -o remount,bind,ro {spool}"
        f" && ! touch {spool}/probe 2>/dev/null && exec {shlex.join(command)}"
    )
    result = subprocess.run(["unshare", "--mount", "sh", "-c", script],
                            capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    queues = sorted(m.queue for m in queue_metrics.parse(result.stdout.splitlines()))
    assert queues == ["deferred", "hold"]


@needs_postfix
@pytest.mark.slow
def test_served_over_http(queue: StuckQueue) -> None:
    port = free_port()
    with exporter(queue, port) as process:
        body = scrape(port)
    assert process.returncode == 0  # SIGTERM ends it cleanly
    assert 'facteur_mta_queue_messages{queue="hold"} 1.0' in body


def test_postqueue_failure_exports_only_up_zero(tmp_path) -> None:
    """No Postfix at that configuration: no made-up zeros, just up 0."""
    missing = tmp_path / "no-such-config"
    assert samples(queue_metrics.postqueue_command(str(missing))) == {
        ("facteur_mta_queue_up", ""): 0
    }
    assert samples(["/nonexistent/postqueue", "-j"]) == {("facteur_mta_queue_up", ""): 0}


def test_parse_refuses_what_is_not_postqueue_json() -> None:
    with pytest.raises(queue_metrics.QueueReadError, match="line 2"):
        queue_metrics.parse(['{"queue_name": "active", "queue_id": "A", "arrival_time": 1}',
                             "Mail queue is empty"])  # fmt: skip
    with pytest.raises(queue_metrics.QueueReadError, match="line 1"):
        queue_metrics.parse(['{"queue_name": "active"}'])


def test_summary_keeps_the_oldest_arrival_per_queue() -> None:
    lines = [
        '{"queue_name": "deferred", "queue_id": "A", "arrival_time": 200, "message_size": 10,'
        ' "recipients": [{"address": "a@x.test", "delay_reason": "connect refused"}]}',
        '{"queue_name": "deferred", "queue_id": "B", "arrival_time": 100, "message_size": 5,'
        ' "recipients": [{"address": "b@x.test"}, {"address": "c@x.test"}]}',
        '{"queue_name": "active", "queue_id": "C", "arrival_time": 300, "message_size": 1,'
        ' "recipients": []}',
    ]
    stats = queue_metrics.summarize(queue_metrics.parse(lines))
    assert (stats["deferred"].messages, stats["deferred"].recipients) == (2, 3)
    assert (stats["deferred"].size, stats["deferred"].oldest_arrival) == (15, 100)
    assert stats["active"].oldest_arrival == 300
    assert stats["hold"].messages == 0 and stats["hold"].oldest_arrival is None
