"""Calls made at the same moment, sent together: the Mailbox upserts of a burst.

A burst (a GitOps sync of thousands of Mailboxes) made one backend request per Mailbox,
each paying the backend's per-request work (authentication, throttle, middleware, a
connection) for a few queries of its own. Here a call waits its turn for one of the
backend's slots; whatever gathered meanwhile leaves in one batch, up to ``size`` items.
Nothing waits on purpose: alone, a call leaves at once, as before; only when the slots
are busy do calls gather, so a batch grows with the backlog and no further.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")

# Sends a batch; answers one result per item, in order: an answer, or the exception that
# item's caller gets. An exception raised by ``send`` itself goes to every caller.
Send = Callable[[list[Item]], Awaitable[list[Answer | BaseException]]]


class Batcher(Generic[Item, Answer]):
    def __init__(self, send: Send, *, size: int, slots: asyncio.Semaphore) -> None:
        self.send, self.size, self.slots = send, size, slots
        self.waiting: list[tuple[Item, asyncio.Future]] = []
        self.drainer: asyncio.Task | None = None
        self.in_flight: set[asyncio.Task] = set()

    async def call(self, item: Item) -> Answer:
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if self.drainer is None or self.drainer.done():
            self.drainer = asyncio.create_task(self._drain(), name="batcher drain")
        return await future

    async def _drain(self) -> None:
        while self.waiting:
            await self.slots.acquire()  # calls keep gathering while every slot is busy
            batch = [(i, f) for i, f in self.waiting[: self.size] if not f.done()]
            del self.waiting[: self.size]
            if not batch:
                self.slots.release()
                continue
            task = asyncio.create_task(self._send(batch), name="batcher send")
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def _send(self, batch: list[tuple[Item, asyncio.Future]]) -> None:
        try:
            answers = await self.send([item for item, _ in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers to a batch of {len(batch)}")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # every caller gets it
            answers = [exc] * len(batch)
        finally:
            self.slots.release()
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():  # its caller went (cancelled)
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    async def close(self) -> None:
        """Cancel what is under way; callers still waiting get CancelledError."""
        tasks = [t for t in (self.drainer, *self.in_flight) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _, future in self.waiting:
            future.cancel()
        self.waiting.clear()
