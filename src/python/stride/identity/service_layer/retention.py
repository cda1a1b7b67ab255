"""How long Identity keeps what sign-in attempts and emailed links leave behind.

Failure counts go once a quiet hour has forgotten them (they name emails and addresses), spent
nonces once past their expiry. Links (verification, password reset, email change and its
revert) stay until a while after they expire, so a late click is told the link expired rather
than that it never existed; then they go, with the addresses they hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.clock import Clock, utcnow

PRUNE_BATCH_SIZE = 1000  # Links of each kind per transaction.


async def prune_sign_in_records(uow: IdentityUnitOfWork, clock: Clock = utcnow) -> int:
    """Deletes forgotten failure counts and expired spent nonces; how many."""
    now = clock()
    async with uow:
        pruned = await uow.failures.prune(now) + await uow.sessions.prune_spent_nonces(now)
        await uow.commit()
    return pruned


async def prune_expired_links(
    new_uow: Callable[[], IdentityUnitOfWork], kept_after_expiry: timedelta, clock: Clock = utcnow
) -> int:
    """Deletes every link that expired more than `kept_after_expiry` ago, a batch per short
    transaction (rows another one holds are left for the next run); how many."""
    pruned = 0
    while True:
        async with new_uow() as uow:
            batch = await uow.users.prune_expired_links(
                clock() - kept_after_expiry, PRUNE_BATCH_SIZE
            )
            await uow.commit()
        pruned += batch
        if batch == 0:
            return pruned


async def prune_identity_records(
    new_uow: Callable[[], IdentityUnitOfWork],
    links_kept_after_expiry: timedelta,
    clock: Clock = utcnow,
) -> int:
    """Both of the above, as the periodic job runs them; how many rows went."""
    records = await prune_sign_in_records(new_uow(), clock)
    return records + await prune_expired_links(new_uow, links_kept_after_expiry, clock)
