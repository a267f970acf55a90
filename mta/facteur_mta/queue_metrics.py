"""Prometheus metrics of a Postfix queue: messages, recipients, bytes and the oldest
message's age per queue (maildrop, incoming, active, deferred, hold).

The backend counts its own outbound queue in the database (``facteur_outbound_*``); once
MTA-out has accepted a message, only Postfix knows whether it waits (deferred by a remote
server, held by an operator). This exporter reads ``postqueue -j`` (one JSON object per
message, Postfix 3.1+) at each scrape, so the numbers are never older than the scrape.

Run beside Postfix in the MTA pod (same image, the queue directory and the configuration
mounted): ``python3 -m facteur_mta.queue_metrics --config-dir /etc/facteur/postfix``.
``postqueue`` talks to the master's ``showq`` service through ``<queue_directory>/public``,
which only the ``postdrop`` group may enter: run the exporter with that group (the MTA
image fixes its id, images/mta/Dockerfile), not as root.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("facteur_mta.queue_metrics")

# showq's queue names; each is always exported (0 when empty) so a rule sees the series.
QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")
POSTQUEUE = "/usr/sbin/postqueue"
DEFAULT_PORT = 9154
# The container port's name the chart's PodMonitor scrapes (charts/facteur, monitors.yaml).
PORT_NAME = "queue-metrics"
# The postdrop group's id in the MTA image (images/mta/Dockerfile): the exporter's runAsGroup.
POSTDROP_GID = 10125
TIMEOUT_SECONDS = 20.0


class QueueReadError(Exception):
    """postqueue failed or printed something that is not its JSON."""


@dataclass(frozen=True)
class QueuedMessage:
    queue: str
    queue_id: str
    arrival_time: float
    size: int
    recipients: int


@dataclass
class QueueStats:
    messages: int = 0
    recipients: int = 0
    size: int = 0
    oldest_arrival: float | None = None

    def add(self, message: QueuedMessage) -> None:
        self.messages += 1
        self.recipients += message.recipients
        self.size += message.size
        if self.oldest_arrival is None or message.arrival_time < self.oldest_arrival:
            self.oldest_arrival = message.arrival_time


def parse(lines: Iterable[str]) -> list[QueuedMessage]:
    """``postqueue -j`` output: one JSON object a line (blank lines ignored)."""
    messages = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            messages.append(
                QueuedMessage(
                    queue=str(record["queue_name"]),
                    queue_id=str(record["queue_id"]),
                    arrival_time=float(record["arrival_time"]),
                    size=int(record.get("message_size", 0)),
                    recipients=len(record.get("recipients", [])),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise QueueReadError(f"postqueue -j line {number}: {exc!r}") from exc
    return messages


def summarize(messages: Iterable[QueuedMessage]) -> dict[str, QueueStats]:
    """Per queue, every known queue present; a queue showq adds later gets its own entry."""
    stats = {queue: QueueStats() for queue in QUEUES}
    for message in messages:
        stats.setdefault(message.queue, QueueStats()).add(message)
    return stats


def read_queue(command: Sequence[str], timeout: float = TIMEOUT_SECONDS) -> list[QueuedMessage]:
    """Run ``postqueue ... -j`` and parse it."""
    try:
        result = subprocess.run(  # noqa: S603 (a fixed command line, no shell)
            list(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise QueueReadError(f"{command[0]}: {exc}") from exc
    if result.returncode != 0:
        raise QueueReadError(
            f"{command[0]} exited with {result.returncode}: {result.stderr.strip()[:500]}"
        )
    return parse(result.stdout.splitlines())


class PostfixQueueCollector(Collector):
    """Reads the queue at each scrape; on failure exports only ``..._up 0``."""

    def __init__(
        self,
        command: Sequence[str],
        clock: Callable[[], float] = time.time,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.command = list(command)
        self.clock = clock
        self.timeout = timeout

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "facteur_mta_queue_up", "Whether postqueue answered at this scrape (1) or not (0)."
        )
        try:
            messages = read_queue(self.command, self.timeout)
        except QueueReadError as exc:
            log.warning("cannot read the Postfix queue: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = self.clock()
        families = {
            "messages": GaugeMetricFamily(
                "facteur_mta_queue_messages", "Messages in the Postfix queue.", labels=["queue"]
            ),
            "recipients": GaugeMetricFamily(
                "facteur_mta_queue_recipients",
                "Recipients still to deliver of the messages in the queue.",
                labels=["queue"],
            ),
            "size": GaugeMetricFamily(
                "facteur_mta_queue_size_bytes",
                "Size of the messages in the queue.",
                labels=["queue"],
            ),
            "oldest": GaugeMetricFamily(
                "facteur_mta_queue_oldest_message_age_seconds",
                "Age of the queue's oldest message (since Postfix received it); 0 when empty.",
                labels=["queue"],
            ),
        }
        for queue, stats in sorted(summarize(messages).items()):
            families["messages"].add_metric([queue], stats.messages)
            families["recipients"].add_metric([queue], stats.recipients)
            families["size"].add_metric([queue], stats.size)
            age = 0.0 if stats.oldest_arrival is None else max(0.0, now - stats.oldest_arrival)
            families["oldest"].add_metric([queue], age)
        yield from families.values()


def postqueue_command(config_dir: str, postqueue: str = POSTQUEUE) -> list[str]:
    return [postqueue, "-c", config_dir, "-j"]


def registry_for(command: Sequence[str]) -> CollectorRegistry:
    """A registry with only the queue's metrics (no process or platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PostfixQueueCollector(command))
    return registry


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python3 -m facteur_mta.queue_metrics",
        description="Prometheus metrics of a Postfix queue.",
    )
    parser.add_argument("--config-dir", default="/etc/postfix", help="Postfix's main.cf folder")
    parser.add_argument("--postqueue", default=POSTQUEUE)
    parser.add_argument("--host", default="0.0.0.0", help="address to serve /metrics on")  # noqa: S104
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    registry = registry_for(postqueue_command(args.config_dir, args.postqueue))
    # The server runs in a daemon thread (Debian 12's prometheus-client 0.16 returns nothing
    # to stop it with): the process ends on SIGTERM, and the thread with it.
    start_http_server(args.port, addr=args.host, registry=registry)
    log.info("serving Postfix queue metrics on %s:%d", args.host, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    main()
