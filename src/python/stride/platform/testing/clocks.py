"""Clocks for tests that run whole services: time a test can skip instead of sleeping through."""

from __future__ import annotations

from datetime import datetime, timedelta

from stride.platform.clock import utcnow


class MovableClock:
    """The real time, moved forward by whatever the test advanced it: a service reading it keeps
    running as usual, and a test that waits for a delay to pass advances the clock by it."""

    def __init__(self) -> None:
        self._ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self._ahead

    def advance(self, by: timedelta) -> None:
        if by < timedelta(0):
            raise ValueError("a clock only moves forward")
        self._ahead += by
