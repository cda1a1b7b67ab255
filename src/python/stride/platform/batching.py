"""Group commit: concurrent calls for one key decided together, one batch at a time.

While a key's batch is being decided, the calls for that key that arrive wait and become the
next batch, so a burst on one hot key (a popular class opening) costs a few transactions
instead of one each, and a quiet key still decides each call at once (a batch of one). Batches
are per process: what serializes batches across replicas is the caller's own lock (for a class,
its row lock), which `decide` takes.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from stride.platform.deadlines import current_deadline, time_to_answer

Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")
Result = TypeVar("Result")

_log = logging.getLogger("stride.batching")


@dataclass
class Submitted(Generic[Item, Result]):
    """An item in a batch, and whether its caller is still waiting for it."""

    item: Item
    deadline: float | None  # The caller's (`stride.platform.deadlines`), if it has one.
    outcome: asyncio.Future[Result] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def abandoned(self) -> bool:
        """Its caller stopped waiting (cancelled), or could no longer hear the answer before
        its deadline: a decision made now would reach nobody."""
        if self.outcome.done():
            return True
        return self.deadline is not None and time_to_answer(self.deadline) == 0.0


class Batcher(Generic[Key, Item, Result]):
    """`await batcher.submit(key, item)` returns the item's result, or raises its error.

    `decide(key, batch)` returns one result or exception per item, in order; an exception it
    raises itself is every item's. Items are decided in the order they were submitted. An
    item whose caller stopped waiting (cancelled, or past its deadline) before its batch began
    is dropped undecided (a caller past its deadline gets TimeoutError); `decide` should skip
    the ones abandoned while it waited for its lock, as late as it can before committing, and
    answer them TimeoutError. One decided anyway reaches its caller's retry through its request
    id.
    """

    def __init__(
        self,
        decide: Callable[
            [Key, Sequence[Submitted[Item, Result]]], Awaitable[Sequence[Result | BaseException]]
        ],
        max_batch: int = 500,
    ) -> None:
        self._decide = decide
        self._max_batch = max_batch
        self._waiting: dict[Key, deque[Submitted[Item, Result]]] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, key: Key, item: Item) -> Result:
        pending: Submitted[Item, Result] = Submitted(item, current_deadline())
        queue = self._waiting.get(key)
        if queue is None:
            queue = self._waiting[key] = deque()
            # A fresh context: the batch decides for many callers, so it runs as none of them
            # (no caller's principal, language, trace or deadline).
            task = asyncio.create_task(self._drain(key, queue), context=contextvars.Context())
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        queue.append(pending)
        return await pending.outcome

    async def _drain(self, key: Key, queue: deque[Submitted[Item, Result]]) -> None:
        try:
            while queue:
                batch: list[Submitted[Item, Result]] = []
                while queue and len(batch) < self._max_batch:
                    pending = queue.popleft()
                    if not pending.abandoned:
                        batch.append(pending)
                    elif not pending.outcome.done():  # Past its deadline, still waiting.
                        pending.outcome.set_exception(TimeoutError())
                if batch:
                    await self._run(key, batch)
        finally:
            del self._waiting[key]
            # Only if the drain itself was stopped (cancelled on shutdown): nobody is left
            # waiting for a batch that will not come.
            for pending in queue:
                if not pending.outcome.done():
                    pending.outcome.set_exception(asyncio.CancelledError())

    async def _run(self, key: Key, batch: list[Submitted[Item, Result]]) -> None:
        try:
            results: Sequence[Result | BaseException] = await self._decide(key, batch)
        except BaseException as error:  # Every caller is told; none is left waiting.
            self._settle(key, batch, [error] * len(batch))
            if not isinstance(error, Exception):
                raise
            return
        self._settle(key, batch, results)

    @staticmethod
    def _settle(
        key: Key, batch: list[Submitted[Item, Result]], results: Sequence[Result | BaseException]
    ) -> None:
        if len(results) != len(batch):  # A bug in `decide`: say so rather than hang.
            _log.error("batch for %r decided %d of %d items", key, len(results), len(batch))
            results = [RuntimeError("batch decided the wrong number of items")] * len(batch)
        for pending, result in zip(batch, results, strict=True):
            if pending.outcome.done():
                continue
            if isinstance(result, BaseException):
                pending.outcome.set_exception(result)
            else:
                pending.outcome.set_result(result)
