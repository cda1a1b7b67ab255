"""Stopping background tasks (outbox relays, consumers) reliably."""

from __future__ import annotations

import asyncio


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
