"""What Scheduling needs from other services, as the use cases see it."""

from __future__ import annotations

from typing import Protocol

from stride.scheduling.domain.model import Booking


class Entitlements(Protocol):
    async def hold(self, booking: Booking) -> None:
        """Holds what the booking uses (membership or one class credit), for the caller;
        idempotent per booking. Raises FailedPrecondition NO_ENTITLEMENT when there is none."""

    async def release(self, booking: Booking) -> None:
        """Gives the booking's hold back; idempotent; nothing held is not an error."""
