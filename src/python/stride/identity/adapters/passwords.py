"""Password hashing with Argon2id (RFC 9106), off the event loop."""

from __future__ import annotations

import asyncio
import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommended option (64 MiB, 3 passes), sized for 2-core pods: ~50 ms a hash.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)
_ARGON2_PREFIX = "$argon2"


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def unguessable_password_hash() -> str:
    """For accounts that sign in only through a provider: a real hash of a random password
    nobody knows, so a password sign-in against them costs what it costs against any other
    account (a placeholder that fails at once would tell them apart by response time)."""
    return await hash_password(secrets.token_urlsafe(32))


async def verify_password(
    password_hash: str, password: str, hasher: PasswordHasher = _HASHER
) -> bool:
    def verify() -> bool:
        try:
            return hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


@functools.cache
def _decoy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(32))


async def verify_password_or_decoy(
    password_hash: str | None, password: str, hasher: PasswordHasher = _HASHER
) -> bool:
    """For an unknown account (`password_hash` None), or one holding no Argon2 hash (provider
    accounts made before they got one held `!`), spends the same work on a decoy hash and
    fails, so response time doesn't reveal which emails have accounts, nor of which kind."""
    if password_hash is None or not password_hash.startswith(_ARGON2_PREFIX):
        await verify_password(_decoy_hash(hasher), password, hasher)
        return False
    return await verify_password(password_hash, password, hasher)
