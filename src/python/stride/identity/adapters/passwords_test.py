"""The decoy hash: what a password sign-in verifies when the account has no password of its
own, so that it costs what a real verification costs."""

from __future__ import annotations

from typing import Any, Literal

from argon2 import PasswordHasher, extract_parameters

from stride.identity.adapters.passwords import hash_password, verify_password_or_decoy


class CountingHasher(PasswordHasher):
    """Argon2id as Identity configures it, remembering every hash it verified."""

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


async def test_an_account_without_an_argon2_hash_costs_a_real_verification() -> None:
    real = await hash_password("a long enough password")
    hasher = CountingHasher(**_parameters_of(real))

    # `!` is what accounts that sign in only through a provider held before they got a hash.
    for stored in ("!", None):
        assert await verify_password_or_decoy(stored, "a long enough password", hasher) is False

    assert len(hasher.verified) == 2
    assert all(
        extract_parameters(verified) == extract_parameters(real) for verified in hasher.verified
    )


async def test_a_real_hash_is_verified_as_it_is() -> None:
    real = await hash_password("a long enough password")
    hasher = CountingHasher(**_parameters_of(real))

    assert await verify_password_or_decoy(real, "a long enough password", hasher) is True
    assert await verify_password_or_decoy(real, "another password entirely", hasher) is False
    assert hasher.verified == [real, real]


def _parameters_of(password_hash: str) -> dict[str, int]:
    parameters = extract_parameters(password_hash)
    return {
        "time_cost": parameters.time_cost,
        "memory_cost": parameters.memory_cost,
        "parallelism": parameters.parallelism,
    }
