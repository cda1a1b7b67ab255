from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from stride.platform.batching import Batcher, Submitted


class Recorder:
    """Decides each item as its double (a negative one is refused), remembering every batch;
    the first batch waits until released, so the calls after it pile up behind it."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.first_began = asyncio.Event()
        self.release = asyncio.Event()

    async def decide(
        self, key: str, batch: Sequence[Submitted[int, int]]
    ) -> Sequence[int | BaseException]:
        self.batches.append((key, [s.item for s in batch]))
        if len(self.batches) == 1:
            self.first_began.set()
            await self.release.wait()
        return [ValueError(s.item) if s.item < 0 else s.item * 2 for s in batch]


async def first_call(
    recorder: Recorder, batcher: Batcher[str, int, int], key: str, item: int
) -> asyncio.Task[int]:
    """A call whose batch has begun (and waits for `recorder.release`)."""
    task = asyncio.create_task(batcher.submit(key, item))
    await recorder.first_began.wait()
    return task


def calls(batcher: Batcher[str, int, int], key: str, *items: int) -> list[asyncio.Task[int]]:
    """Calls made in this order: tasks start in the order they were created, so each reaches
    the queue before the next."""
    return [asyncio.create_task(batcher.submit(key, item)) for item in items]


async def test_calls_that_arrive_while_a_batch_runs_are_decided_together_in_order() -> None:
    recorder = Recorder()
    batcher: Batcher[str, int, int] = Batcher(recorder.decide, max_batch=3)
    first = await first_call(recorder, batcher, "class-a", 1)
    waiting = calls(batcher, "class-a", 2, 3, 4, 5, -6)
    (other,) = calls(batcher, "class-b", 7)
    assert await other == 14  # Another key is not held up (and the calls above are queued).
    recorder.release.set()

    assert await first == 2
    assert [await task for task in waiting[:4]] == [4, 6, 8, 10]
    with pytest.raises(ValueError, match="-6"):
        await waiting[4]
    assert recorder.batches == [
        ("class-a", [1]),
        ("class-b", [7]),
        ("class-a", [2, 3, 4]),  # No more than max_batch at once; the rest next, in order.
        ("class-a", [5, -6]),
    ]


async def test_a_call_whose_caller_gave_up_before_its_batch_began_is_never_decided() -> None:
    recorder = Recorder()
    batcher: Batcher[str, int, int] = Batcher(recorder.decide)
    first = await first_call(recorder, batcher, "class-a", 1)
    gone, kept = calls(batcher, "class-a", 2, 3)
    (other,) = calls(batcher, "class-b", 4)
    assert await other == 8  # By now the two calls above are queued.
    gone.cancel()
    recorder.release.set()

    assert (await first, await kept) == (2, 6)
    assert recorder.batches == [("class-a", [1]), ("class-b", [4]), ("class-a", [3])]


async def test_a_batch_that_fails_fails_each_of_its_calls_and_the_next_one_runs() -> None:
    calls = 0

    async def decide(key: str, batch: Sequence[Submitted[int, int]]) -> Sequence[int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database gone")
        return [s.item for s in batch]

    batcher: Batcher[str, int, int] = Batcher(decide)
    with pytest.raises(ConnectionError):
        await batcher.submit("class-a", 1)
    assert await batcher.submit("class-a", 2) == 2
