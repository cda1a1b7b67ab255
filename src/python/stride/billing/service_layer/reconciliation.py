"""Giving back the credits of bookings that were never made.

Scheduling holds a member's credit before it decides their booking, with no transaction open
(ADR 0012); if it dies between Billing's hold and its own commit, or the member never retries,
the credit stays held for a booking that does not exist. The reconciler finds holds whose
booking was never seen and that Scheduling has not asked for within a grace period (far longer
than any booking's deadline, so no booking can still commit), asks Scheduling which of their
bookings exist, marks those verified and gives the others back. It runs periodically, in any
number of replicas at once: each give-back locks its hold and checks it again first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

from stride.billing.service_layer.handlers import give_back
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.clock import Clock, utcnow

# A booking's request is cut off after the RPC budget (30 s); Scheduling asks for a hold
# again on every retry of the same request, which restarts this.
HOLD_GRACE = timedelta(minutes=10)
BATCH = 100  # Bookings asked about at once (FindBookings takes at most 100).

_log = logging.getLogger("stride.billing.reconciliation")


class Bookings(Protocol):
    async def existing(self, names: Sequence[str]) -> set[str]:
        """Those of the bookings (`users/{user}/bookings/{booking}`) that exist."""


async def reconcile_holds(
    new_uow: Callable[[], BillingUnitOfWork],
    bookings: Bookings,
    clock: Clock = utcnow,
    grace: timedelta = HOLD_GRACE,
) -> int:
    """Gives back every held credit whose booking was never made; how many it gave back."""
    given_back = 0
    while True:
        now = clock()
        uow = new_uow()
        async with uow:
            candidates = await uow.entitlements.unverified(now - grace, limit=BATCH)
        if not candidates:
            return given_back
        found = await bookings.existing([hold.booking for hold in candidates])  # None open.
        uow = new_uow()
        async with uow:
            await uow.entitlements.verified(
                [hold.id for hold in candidates if hold.booking in found], now
            )
            for hold in candidates:
                if hold.booking in found:
                    continue
                # Locked and read again: another replica, or Scheduling asking for it again,
                # may have come first.
                for still in await uow.entitlements.unverified(
                    now - grace, limit=1, lock_id=hold.id
                ):
                    await give_back(uow.entitlements, still, now, uow.publish)
                    given_back += 1
                    _log.info("gave back a hold with no booking", extra={"hold": hold.id.hex})
            await uow.commit()
        if len(candidates) < BATCH:
            return given_back
