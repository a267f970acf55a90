"""The aiosmtpd handler shared by the LMTP and SMTP faces: RCPT checks, DATA delivery.

Database work runs in a small thread pool; the event loop only talks SMTP. A reply
is 250 only once the message is committed; any exception is a 451 so that the
sender keeps the message and retries (ingest makes retries idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import connections

from facteur.delivery import metrics, replies, services
from facteur.ingest.services import IngestResult, Outcome

log = logging.getLogger(__name__)

# Concurrent deliveries: each thread holds one database connection.
WORKER_THREADS = 4
# How long ``close`` waits for deliveries still running (stuck in the database, say).
CLOSE_TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


class DeliveryHandler:
    def __init__(self, *, max_recipients: int, workers: int = WORKER_THREADS) -> None:
        self.max_recipients = max_recipients
        self._workers = workers
        self._threads = 0
        self._running = 0  # functions running in the worker threads right now
        self._state = threading.Condition()
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix="delivery", initializer=self._thread_started
        )

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        face = _face(server)
        if len(envelope.rcpt_tos) >= self.max_recipients:
            metrics.RECIPIENTS.labels(face, metrics.REJECTED).inc()
            return replies.TOO_MANY_RECIPIENTS
        try:
            known = await self._in_thread(services.recipient_known, address)
        except Exception:
            log.exception("%s: recipient check failed", face)
            metrics.RECIPIENTS.labels(face, metrics.TEMP_FAILED).inc()
            return replies.TEMPORARY_FAILURE
        if not known:
            metrics.RECIPIENTS.labels(face, metrics.REJECTED).inc()
            return replies.UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return replies.RECIPIENT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        face = _face(server)
        started = time.perf_counter()
        raw = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        try:
            result: IngestResult | None = await self._in_thread(
                lambda: services.deliver(raw=raw, recipients=recipients)
            )
        except Exception:
            log.exception("%s: delivery failed, answering 4xx", face)
            result = None
        per_recipient = _recipient_replies(result, len(recipients))
        for reply in per_recipient:
            metrics.RECIPIENTS.labels(face, _metric_result(reply)).inc()
        if face == "lmtp":
            answer = "\r\n".join(per_recipient)  # one reply per accepted RCPT, in order
        elif replies.TEMPORARY_FAILURE in per_recipient:
            answer = replies.TEMPORARY_FAILURE
        else:
            # A recipient deleted between RCPT and DATA cannot be refused alone over
            # SMTP; bouncing the others' stored copies would be worse.
            answer = replies.DELIVERED
        elapsed = time.perf_counter() - started
        metrics.DATA_LATENCY.labels(face).observe(elapsed)
        log.info(
            "%s message from %s size=%d recipients=%d %s reply=%s in %.1f ms",
            face,
            session.peer[0] if session.peer else "?",
            len(raw),
            len(recipients),
            _summary(result),
            answer[:3] if face == "smtp" else ",".join(r[:3] for r in per_recipient),
            elapsed * 1000,
        )
        return answer

    def close(self, timeout: float = CLOSE_TIMEOUT_SECONDS) -> bool:
        """Wait up to ``timeout`` for running deliveries, then close the worker threads'
        connections; True once done. False when a delivery still runs (stuck in the
        database, say): then nothing is closed and only ending the process ends it;
        its sender had no reply and retries, and ingest keeps that from doubling."""
        with self._state:
            if not self._state.wait_for(lambda: self._running == 0, timeout):
                self._executor.shutdown(wait=False, cancel_futures=True)
                return False
            started = self._threads
        # One task per thread, held at a barrier so that each thread runs exactly one.
        barrier = threading.Barrier(started) if started else None
        for _ in range(started):
            self._executor.submit(_close_connections, barrier)
        self._executor.shutdown(wait=True)
        return True

    def _thread_started(self) -> None:
        with self._state:
            self._threads += 1

    def _counted(self, function: Callable[..., T], *args: Any) -> T:
        with self._state:
            self._running += 1
        try:
            return function(*args)
        finally:
            with self._state:
                self._running -= 1
                self._state.notify_all()

    async def _in_thread(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._counted, function, *args)


def _face(server: SMTP) -> str:
    return "lmtp" if isinstance(server, LMTP) else "smtp"


def _recipient_replies(result: IngestResult | None, count: int) -> list[str]:
    if result is None:
        return [replies.TEMPORARY_FAILURE] * count
    return [
        replies.UNKNOWN_RECIPIENT
        if r.outcome is Outcome.UNKNOWN_RECIPIENT  # deleted since RCPT
        else replies.DELIVERED
        for r in result.recipients
    ]


def _metric_result(reply: str) -> str:
    if reply == replies.DELIVERED:
        return metrics.ACCEPTED
    return metrics.TEMP_FAILED if reply.startswith("4") else metrics.REJECTED


def _summary(result: IngestResult | None) -> str:
    if result is None:
        return "failed"
    counts = {outcome.value: 0 for outcome in Outcome}
    for r in result.recipients:
        counts[r.outcome.value] += 1
    malformed = " malformed" if result.is_malformed else ""
    return " ".join(f"{name}={n}" for name, n in counts.items()) + malformed


def _close_connections(barrier: threading.Barrier | None) -> None:
    try:
        if barrier is not None:
            barrier.wait(timeout=30)
    except threading.BrokenBarrierError:
        pass  # a thread was stuck; close this one's connections all the same
    connections.close_all()
