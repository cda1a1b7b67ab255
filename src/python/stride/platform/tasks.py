"""Stopping background tasks (outbox relays, consumers) reliably."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

_log = logging.getLogger("stride.tasks")


async def cancel_and_wait(task: asyncio.Task[None], retry_seconds: float = 1.0) -> None:
    """Cancels `task` and waits until it has ended, cancelling again while it runs on.

    A single cancel can be lost: when it lands just as an inner timeout fires, asyncio.wait_for
    (before Python 3.12) and nats-py's fetch turn it into a timeout the loop then retries.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_seconds)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


class Periodic:
    """Runs `job` every `interval_seconds` in the background until stopped; a failing run is
    logged and the next one still happens. What a run returns is not used."""

    def __init__(
        self, name: str, interval_seconds: float, job: Callable[[], Awaitable[object]]
    ) -> None:
        self._name, self._interval, self._job = name, interval_seconds, job
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"periodic-{self._name}")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    async def _run(self) -> None:
        while True:
            try:
                await self._job()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("periodic job failed", extra={"job": self._name})
            await asyncio.sleep(self._interval)
