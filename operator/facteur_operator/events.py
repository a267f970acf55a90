"""Kubernetes Events on what changed: a DKIM key made or rotated, DNS records changed, the
backend brought in line, a deletion held back. Posted only when something changed, so that
a steady state posts nothing; kopf's own log-based Events stay at WARNING and above
(handlers.configure).

Posted by our own client, not kopf's event queue: that queue exists only inside kopf's
handling of an object, and our resync loop (resync.py) reconciles outside it. ``post`` is
synchronous for the handlers; a background task creates the Events, and a full queue or a
refused create loses an Event (logged), never a reconcile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import aiohttp

from facteur_operator.kube import Kube, KubeError, object_path

log = logging.getLogger(__name__)
MAX_MESSAGE = 1000  # what an Event's message holds comfortably
COMPONENT = "facteur-operator"
# Events waiting to be posted; beyond, new ones are dropped (logged). A burst of 10,000
# new Mailboxes queues one each faster than they go out: 1,000 dropped 4,471 of 13,000
# once the backend took them in bulk. About 1 kB each while waiting.
QUEUE_SIZE = 10_000
# Events posted at once: one at a time, a bulk apply of 10,000 Mailboxes filled the queue
# and dropped most of theirs; a few in flight keep up and still bound the API server's load.
SENDERS = 4


class Poster:
    """Creates queued Events in the background through the operator's Kube client."""

    def __init__(self, kube: Callable[[], Kube | None]) -> None:
        self._kube = kube
        self._queue: asyncio.Queue[dict] = asyncio.Queue(QUEUE_SIZE)
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(), name=f"events {n}") for n in range(SENDERS)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def put(self, event: dict) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("event %s dropped: too many waiting", event["reason"])

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            kube = self._kube()
            if kube is None:
                log.warning("event %s dropped: no API connection", event["reason"])
                continue
            namespace = event["metadata"]["namespace"]
            try:
                await kube.create(object_path("v1", "events", namespace), event)
            except (TimeoutError, KubeError, aiohttp.ClientError) as exc:
                log.warning("event %s not posted: %s", event["reason"], exc)


POSTER: Poster | None = None  # set while the operator runs (handlers.configure)


def body_of(obj: Mapping, reason: str, message: str, *, warning: bool = False) -> dict:
    """A core/v1 Event about ``obj`` (a custom resource's body)."""
    meta = obj.get("metadata") or {}
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"namespace": meta.get("namespace"), "generateName": f"{meta.get('name')}."},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        },
        "type": "Warning" if warning else "Normal",
        "reason": reason,
        "message": message[:MAX_MESSAGE],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def post(obj: Mapping, reason: str, message: str, *, warning: bool = False) -> None:
    if POSTER is None:  # a unit test of the reconcile, without the operator running
        log.debug("event %s not posted: %s", reason, message)
        return
    POSTER.put(body_of(obj, reason, message, warning=warning))


def records_changed(before: list[dict] | None, after: list[dict]) -> str:
    """``+ TXT s2._domainkey.example.org.; ~ TXT _dmarc.example.org.; - MX ...``: what the
    zone must change (added, changed, removed), by type and name (values can be long);
    empty when nothing did."""

    def by_key(records: list[dict] | None) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = {}
        for r in records or []:
            out.setdefault((r["type"], r["name"]), set()).add(r["value"])
        return out

    old, new = by_key(before), by_key(after)
    changes = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            changes.append(f"+ {key[0]} {key[1]}")
        elif key not in new:
            changes.append(f"- {key[0]} {key[1]}")
        elif old[key] != new[key]:
            changes.append(f"~ {key[0]} {key[1]}")
    return "; ".join(changes)
