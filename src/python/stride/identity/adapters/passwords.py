"""Password hashing with Argon2id (RFC 9106), off the event loop."""

from __future__ import annotations

import asyncio
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommended option (64 MiB, 3 passes), sized for 2-core pods: ~50 ms a hash.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)


# Stored for accounts that sign in only through a provider: no password ever verifies against it.
UNUSABLE_PASSWORD_HASH = "!"  # noqa: S105 - deliberately not a hash.


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


@functools.cache
def _decoy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(32))


async def verify_password_or_decoy(password_hash: str | None, password: str) -> bool:
    """For an unknown account (`password_hash` None) spends the same work on a decoy hash and
    fails, so response time doesn't reveal which emails have accounts."""
    if password_hash is None:
        await verify_password(_decoy_hash(), password)
        return False
    return await verify_password(password_hash, password)
