"""Brute-force throttling of every check of a password or second factor: exponential backoff
per account (or per trusted device of the account) and per client address.

A few free attempts, then each further one doubles the wait, capped. An attempt is counted
before the secret is checked (so parallel guesses cannot all pass a count none of them has
raised yet) and forgiven when it succeeds. The state is what the adapters store; these rules
decide from it alone.

A member's trusted device (a signed device token the app keeps after a successful sign-in,
the OWASP "device cookie") counts under a key of its own instead of the account's: strangers
who fail against the email lock that email out for every client without such a token, never
the member's own device.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

FREE_ATTEMPTS = {"account": 5, "device": 5, "address": 20}
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)  # A quiet hour resets the count.
# How long a device stays trusted after the sign-in that made it so.
TRUSTED_DEVICE_TTL = timedelta(days=90)


@dataclass(frozen=True)
class FailureCount:
    key: str  # `account:<email>`, `device:<user>:<device>` or `address:<ip>`.
    failures: int
    last_failure_at: datetime

    @property
    def scope(self) -> str:
        return scope_of(self.key)

    def current(self, now: datetime) -> int:
        return 0 if now - self.last_failure_at > FORGET_AFTER else self.failures

    def locked_until(self, now: datetime) -> datetime | None:
        excess = self.current(now) - FREE_ATTEMPTS[self.scope]
        if excess < 0:
            return None
        delay = min(FIRST_DELAY * (2**excess), MAX_DELAY)
        until = self.last_failure_at + delay
        return until if until > now else None


def retry_after(counts: list[FailureCount], now: datetime) -> timedelta | None:
    """How long the caller is told to wait, or None when no key is locked. An account's count
    is everyone's failures against an email, so its wait is reported as the cap, whatever it
    is: the answer tells a stranger neither when the lock ends (to renew it just in time) nor
    how often the member mistyped; the caller's own keys (address, device) say their real
    wait."""
    waits = [
        MAX_DELAY if count.scope == "account" else until - now
        for count in counts
        if (until := count.locked_until(now)) is not None
    ]
    return max(waits) if waits else None


def forgiven_on_success(key: str) -> str:
    """What a successful attempt does to a key: an account's or device's count starts again
    (`clear`); an address is shared by many members, so only this attempt is taken back
    (`undo`)."""
    return "undo" if scope_of(key) == "address" else "clear"


def scope_of(key: str) -> str:
    return key.partition(":")[0]


def account_key(email: str) -> str:
    return f"account:{email}"


def device_key(user_id: uuid.UUID, device_id: uuid.UUID) -> str:
    return f"device:{user_id}:{device_id}"


def devices_of(user_id: uuid.UUID) -> str:
    """The prefix every device key of the user starts with."""
    return f"device:{user_id}:"


def address_key(address: str) -> str:
    return f"address:{address}"
