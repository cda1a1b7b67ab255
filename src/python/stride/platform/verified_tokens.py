"""Bearer tokens already verified, kept until they expire.

A member's app sends the same access token with every request for its ten minutes, and a
service signs one credential a minute per callee; checking each signature again costs an
Ed25519 verification and pyjwt's parsing every time (tools/bench/overhead). What a token's
check gave is kept under the token itself, and only until its `exp` as the check would judge
it (same leeway), so a kept token is refused exactly when checking it again would refuse it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class VerifiedTokens(Generic[Value]):
    """Only tokens that passed every check are put here, so forged ones cannot fill it; when
    genuine ones do (`capacity`), it starts again empty."""

    def __init__(
        self, leeway_seconds: float, capacity: int = 10_000, clock: Callable[[], float] = time.time
    ) -> None:
        self._leeway, self._capacity, self._clock = leeway_seconds, capacity, clock
        self._entries: dict[str, tuple[Value, float]] = {}

    def get(self, token: str) -> Value | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        value, expires = entry
        if expires <= self._clock() - self._leeway:  # As pyjwt judges `exp`.
            del self._entries[token]
            return None
        return value

    def put(self, token: str, value: Value, expires: float) -> None:
        if len(self._entries) >= self._capacity:
            self._entries.clear()
        self._entries[token] = (value, expires)
