"""Brute-force throttling of sign-in: exponential backoff per account and per client address.

A few free attempts, then each further failure doubles the wait, capped. The state is what the
adapters store; these rules decide from it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_ATTEMPTS = {"account": 5, "address": 20}
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)  # A quiet hour resets the count.


@dataclass(frozen=True)
class FailureCount:
    key: str  # `account:<email>` or `address:<ip>`.
    failures: int
    last_failure_at: datetime

    @property
    def scope(self) -> str:
        return self.key.partition(":")[0]

    def current(self, now: datetime) -> int:
        return 0 if now - self.last_failure_at > FORGET_AFTER else self.failures

    def locked_until(self, now: datetime) -> datetime | None:
        excess = self.current(now) - FREE_ATTEMPTS[self.scope]
        if excess < 0:
            return None
        delay = min(FIRST_DELAY * (2**excess), MAX_DELAY)
        until = self.last_failure_at + delay
        return until if until > now else None


def account_key(email: str) -> str:
    return f"account:{email}"


def address_key(address: str) -> str:
    return f"address:{address}"
