"""How long Identity keeps what sign-in attempts leave behind."""

from __future__ import annotations

from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.clock import Clock, utcnow


async def prune_sign_in_records(uow: IdentityUnitOfWork, clock: Clock = utcnow) -> int:
    """Deletes failure counts a quiet hour has forgotten (they name emails and addresses) and
    spent nonces past their expiry (refused for it alone by then); how many."""
    now = clock()
    async with uow:
        pruned = await uow.failures.prune(now) + await uow.sessions.prune_spent_nonces(now)
        await uow.commit()
    return pruned
