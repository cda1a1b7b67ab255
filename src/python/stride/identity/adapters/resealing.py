"""Moves every sealed secret onto the active data key, so an old data key can be retired.

Rotation: add a new key to STRIDE_DATA_KEYS and make it STRIDE_DATA_KEY_ACTIVE (new secrets
use it at once; old ones still open with the key they name), then run
`identity-admin reseal`, then drop the old key from STRIDE_DATA_KEYS.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from stride.identity.adapters.mfa_repository import totp_context
from stride.identity.adapters.signing_keys import signing_key_context
from stride.identity.adapters.tables import SigningKeyRecord, TotpFactorRecord
from stride.platform.crypto.sealing import DataKeyring, Sealed


async def reseal_secrets(session: AsyncSession, keyring: DataKeyring) -> int:
    """Reseals, in the caller's transaction, what is not yet on the active key; returns how
    many secrets moved."""
    moved = 0
    keys = await session.execute(select(SigningKeyRecord).with_for_update())
    for key in keys.scalars().all():
        if key.data_key_id != keyring.active_key_id:
            sealed = keyring.reseal(
                Sealed(key.data_key_id, key.private_key_sealed), signing_key_context(key.kid)
            )
            key.private_key_sealed, key.data_key_id = sealed.ciphertext, sealed.key_id
            moved += 1
    factors = await session.execute(select(TotpFactorRecord).with_for_update())
    for factor in factors.scalars().all():
        if factor.data_key_id != keyring.active_key_id:
            sealed = keyring.reseal(
                Sealed(factor.data_key_id, factor.secret_sealed), totp_context(factor.user_id)
            )
            factor.secret_sealed, factor.data_key_id = sealed.ciphertext, sealed.key_id
            moved += 1
    return moved
