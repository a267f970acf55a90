"""The aiosmtpd handler shared by the LMTP and SMTP faces: RCPT checks, DATA delivery.

Database work runs in a small thread pool (``FACTEUR_DELIVERY_WORKERS``); the event
loop only talks SMTP. Messages whose DATA ends while the workers are busy wait on the
loop and are handed to the next free worker together, to be stored in one transaction
(group commit, ``ingest.batch``): under load a commit serves many sessions, when idle
a message goes alone at once. A batch takes no message for a mailbox that another
batch is writing to (it would only wait for that batch's mailbox lock); those wait
for the next one. A reply is 250 only once the message is committed; any
exception is a 451 so that the sender keeps the message and retries (ingest makes
retries idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import connections

from facteur.delivery import metrics, replies, services
from facteur.ingest.batch import Received
from facteur.ingest.recipients import remembered_destination
from facteur.ingest.services import IngestResult, Outcome

log = logging.getLogger(__name__)

# How long ``close`` waits for deliveries still running (stuck in the database, say).
CLOSE_TIMEOUT_SECONDS = 10.0
# The most messages stored in one transaction: a batch's last reply waits for all of it.
BATCH_MAX = 32

T = TypeVar("T")


@dataclass
class _Waiting:
    """A message at the end of its DATA, waiting for a worker."""

    message: Received
    mailboxes: frozenset[uuid.UUID]  # those RCPT found (remembered), for dispatching
    stored: asyncio.Future[IngestResult]


class DeliveryHandler:
    def __init__(
        self, *, max_recipients: int, workers: int | None = None, batch_max: int = BATCH_MAX
    ) -> None:
        self.max_recipients = max_recipients
        # Each thread holds one database connection.
        self._workers = workers or settings.FACTEUR_DELIVERY_WORKERS
        self._batch_max = batch_max
        self._waiting: list[_Waiting] = []  # touched on the event loop only
        self._writing: list[frozenset[uuid.UUID]] = []  # mailboxes of each batch in hand
        self._threads = 0
        self._running = 0  # functions running in the worker threads right now
        self._state = threading.Condition()
        self._executor = ThreadPoolExecutor(
            self._workers, thread_name_prefix="delivery", initializer=self._thread_started
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
            # A remembered address needs no thread (nor the database); others go ask.
            destination = remembered_destination(address) or await self._in_thread(
                services.recipient_destination, address
            )
        except Exception:
            log.exception("%s: recipient check failed", face)
            metrics.RECIPIENTS.labels(face, metrics.TEMP_FAILED).inc()
            return replies.TEMPORARY_FAILURE
        if destination is None or destination.disabled:
            metrics.RECIPIENTS.labels(face, metrics.REJECTED).inc()
            return replies.UNKNOWN_RECIPIENT if destination is None else replies.MAILBOX_DISABLED
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return replies.RECIPIENT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        face = _face(server)
        started = time.perf_counter()
        raw = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        try:
            result: IngestResult | None = await self._store(Received(raw, recipients))
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

    @property
    def waiting(self) -> int:
        """Messages at the end of their DATA, waiting for a free worker."""
        return len(self._waiting)

    async def _store(self, message: Received) -> IngestResult:
        stored: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        destinations = (remembered_destination(r) for r in message.recipients)
        mailboxes = frozenset(d.mailbox_id for d in destinations if d is not None)
        self._waiting.append(_Waiting(message, mailboxes, stored))
        self._dispatch()
        return await stored

    def _dispatch(self) -> None:
        """Hand the waiting messages to free workers, up to ``batch_max`` per batch, in
        order of arrival, leaving those for mailboxes another batch is writing to."""
        loop = asyncio.get_running_loop()
        while self._waiting and len(self._writing) < self._workers:
            busy = frozenset().union(*self._writing)
            batch: list[_Waiting] = []
            later: list[_Waiting] = []
            for waiting in self._waiting:
                free = len(batch) < self._batch_max and busy.isdisjoint(waiting.mailboxes)
                (batch if free else later).append(waiting)
            if not batch:
                return  # each waits for a mailbox being written: the next batch's turn
            self._waiting = later
            mailboxes = frozenset().union(*(w.mailboxes for w in batch))
            self._writing.append(mailboxes)
            metrics.BATCH_SIZE.observe(len(batch))
            try:
                done = self._executor.submit(
                    self._counted, services.deliver_batch, [w.message for w in batch]
                )
            except RuntimeError as exc:  # closed: the service is stopping
                done = Future()
                done.set_exception(exc)
            done.add_done_callback(
                lambda f, batch=batch, mailboxes=mailboxes: loop.call_soon_threadsafe(
                    self._stored, batch, mailboxes, f
                )
            )

    def _stored(self, batch: list[_Waiting], mailboxes: frozenset, done: Future) -> None:
        self._writing.remove(mailboxes)
        try:
            results = done.result()
        except Exception as exc:  # the batch as a whole: every message gets a 451
            results = [exc] * len(batch)
        for waiting, result in zip(batch, results, strict=True):
            if waiting.stored.done():  # the session went away meanwhile
                continue
            if isinstance(result, Exception):
                waiting.stored.set_exception(result)
            else:
                waiting.stored.set_result(result)
        self._dispatch()

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
