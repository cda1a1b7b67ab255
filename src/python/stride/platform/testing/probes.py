"""Waiting for an effect in tests: poll a positive probe (the row, the message, the reply) until
it shows, never sleep for a guessed while."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 20.0, interval: float = 0.1
) -> T:
    """The probe's first truthy answer; an AssertionError naming the probe and its last answer
    if none comes within `within` seconds."""
    return cast(T, await _poll(probe, bool, "a truthy answer", within, interval))


async def eventually_equal(
    probe: Callable[[], Awaitable[object]],
    expected: object,
    *,
    within: float = 20.0,
    interval: float = 0.1,
) -> None:
    """Returns once the probe answers `expected`; an AssertionError naming the probe and its
    last answer if it does not within `within` seconds."""
    await _poll(probe, lambda answer: answer == expected, repr(expected), within, interval)


async def _poll(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    wanted: str,
    within: float,
    interval: float,
) -> T:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not done(answer := await probe()):
        if loop.time() >= deadline:
            name = getattr(probe, "__name__", repr(probe))
            raise AssertionError(
                f"{name} did not answer {wanted} within {within:g} s; last answer: {answer!r}"
            )
        await asyncio.sleep(interval)
    return answer
