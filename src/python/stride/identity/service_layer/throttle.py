"""The throttle around every check of a secret (password, TOTP or recovery code): the attempt
is counted, atomically and in a transaction of its own, before the check runs, and forgiven
when the check passes. Parallel guesses are decided one after another under the counts' row
locks, so no more than the free attempts ever reach the check."""

from __future__ import annotations

from stride.identity.adapters.passwords import verify_password_or_decoy
from stride.identity.domain.model import User
from stride.identity.domain.throttling import (
    account_key,
    address_key,
    forgiven_on_success,
    retry_after,
)
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.clock import Clock
from stride.platform.errors import ResourceExhausted, Unauthenticated


async def count_attempt(uow: IdentityUnitOfWork, keys: list[str], clock: Clock) -> None:
    """Counts one attempt against every key, or refuses it (nothing counted) while any key is
    locked."""
    now = clock()
    async with uow:
        wait = retry_after(await uow.failures.lock(keys, now), now)
        if wait is not None:
            seconds = max(wait.total_seconds(), 1.0)
            raise ResourceExhausted(
                "SIGN_IN_THROTTLED",
                "auth.too_many_attempts",
                params={"seconds": round(seconds)},
                retry_after_seconds=seconds,
            )
        for key in keys:
            await uow.failures.record_failure(key, now)
        await uow.commit()


async def forgive_attempt(uow: IdentityUnitOfWork, keys: list[str]) -> None:
    """The attempt passed: in the caller's open unit of work, the account's (or device's)
    count starts again and the address's loses this attempt. Keys in the order
    `FailureRepository.lock` takes them, so this cannot deadlock with an attempt counted."""
    for key in sorted(keys):
        if forgiven_on_success(key) == "clear":
            await uow.failures.clear(key)
        else:
            await uow.failures.undo(key)


async def forgive_attempt_alone(uow: IdentityUnitOfWork, keys: list[str]) -> None:
    """`forgive_attempt` in a transaction of its own."""
    async with uow:
        await forgive_attempt(uow, keys)
        await uow.commit()


async def check_password(
    uow: IdentityUnitOfWork, user: User, password: str, client_address: str, clock: Clock
) -> None:
    """The account holder's password, checked as sign-in checks it: against the same keys,
    counted first, the decoy hash for an account without a usable one."""
    keys = [account_key(user.email), address_key(client_address)]
    await count_attempt(uow, keys, clock)
    await require_password(uow, user, password)
    await forgive_attempt_alone(uow, keys)


async def require_password(uow: IdentityUnitOfWork, user: User, password: str) -> None:
    """Checks the password of an attempt already counted."""
    async with uow:
        found = await uow.users.get_with_password_hash(user.email)
    if not await verify_password_or_decoy(found[1] if found else None, password):
        raise Unauthenticated("INVALID_CREDENTIALS", "auth.invalid_credentials")


async def undo_attempt(uow: IdentityUnitOfWork, keys: list[str]) -> None:
    """The attempt checked no secret after all (a second factor was asked for and not sent):
    it is taken back from every key, and nothing else is forgiven."""
    async with uow:
        for key in sorted(keys):
            await uow.failures.undo(key)
        await uow.commit()
