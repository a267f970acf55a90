"""The Batcher that gathers the Mailbox upserts of a burst (facteur_operator.batching)."""

from __future__ import annotations

import asyncio

import pytest

from facteur_operator.batching import Batcher


class Backend:
    """Answers each item doubled; a batch waits until released, so that calls gather."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, items: list) -> list:
        self.batches.append(list(items))
        await self.gate.wait()
        return [ValueError(f"refused {i}") if i < 0 else i * 2 for i in items]


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 10))


def test_a_call_alone_leaves_at_once() -> None:
    async def scenario() -> None:
        backend = Backend()
        batcher = Batcher(backend.send, size=10, slots=asyncio.Semaphore(2))
        assert await batcher.call(21) == 42
        assert await batcher.call(1) == 2
        assert backend.batches == [[21], [1]]

    run(scenario())


def test_calls_gather_while_the_slots_are_busy_each_with_its_own_answer() -> None:
    async def scenario() -> None:
        backend = Backend()
        backend.gate.clear()
        batcher = Batcher(backend.send, size=3, slots=asyncio.Semaphore(1))
        first = asyncio.create_task(batcher.call(0))
        await asyncio.sleep(0.01)  # in flight: the one slot is taken
        later = [asyncio.create_task(batcher.call(i)) for i in (1, -2, 3, 4, 5)]
        await asyncio.sleep(0.01)
        assert backend.batches == [[0]]
        backend.gate.set()
        results = await asyncio.gather(first, *later, return_exceptions=True)
        # In order, at most 3 a batch; the refused item's caller alone gets its error.
        assert backend.batches == [[0], [1, -2, 3], [4, 5]]
        assert results[:2] == [0, 2] and results[3:] == [6, 8, 10]
        assert isinstance(results[2], ValueError) and str(results[2]) == "refused -2"

    run(scenario())


def test_a_failed_send_reaches_every_caller_of_its_batch_and_no_later_one() -> None:
    async def scenario() -> None:
        calls = {"n": 0}

        async def send(items: list) -> list:
            calls["n"] += 1
            if calls["n"] == 1:
                raise ConnectionError("the backend is down")
            return items

        batcher = Batcher(send, size=10, slots=asyncio.Semaphore(1))
        with pytest.raises(ConnectionError):
            await batcher.call("a")
        assert await batcher.call("b") == "b"

    run(scenario())


def test_an_answer_of_the_wrong_length_is_an_error_not_a_mix_up() -> None:
    async def scenario() -> None:
        async def send(items: list) -> list:
            return items[:-1]

        batcher = Batcher(send, size=10, slots=asyncio.Semaphore(1))
        with pytest.raises(RuntimeError, match="0 answers to a batch of 1"):
            await batcher.call("a")

    run(scenario())


def test_a_caller_that_goes_leaves_the_others_their_answers_and_frees_its_slot() -> None:
    async def scenario() -> None:
        backend = Backend()
        backend.gate.clear()
        slots = asyncio.Semaphore(1)
        batcher = Batcher(backend.send, size=10, slots=slots)
        first = asyncio.create_task(batcher.call(1))
        await asyncio.sleep(0.01)
        gone, stays = asyncio.create_task(batcher.call(2)), asyncio.create_task(batcher.call(3))
        await asyncio.sleep(0.01)
        gone.cancel()  # before its batch left: it is not sent
        await asyncio.sleep(0.01)
        backend.gate.set()
        assert await first == 2 and await stays == 6
        assert backend.batches == [[1], [3]]
        assert not slots.locked()

    run(scenario())


def test_close_cancels_what_waits() -> None:
    async def scenario() -> None:
        backend = Backend()
        backend.gate.clear()
        batcher = Batcher(backend.send, size=10, slots=asyncio.Semaphore(1))
        calls = [asyncio.create_task(batcher.call(i)) for i in range(3)]
        await asyncio.sleep(0.01)
        await batcher.close()
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)

    run(scenario())
