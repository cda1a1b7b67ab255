"""Stores TOTP factors (secrets sealed at rest) and recovery codes (hashed)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from stride.identity.adapters.tables import RecoveryCodeRecord, TotpFactorRecord
from stride.identity.domain.mfa import TotpFactor
from stride.platform.crypto.sealing import DataKeyring, Sealed


def totp_context(user_id: uuid.UUID) -> str:
    return f"users/{user_id}:totp"


class MfaRepository:
    def __init__(self, session: AsyncSession, data_keys: DataKeyring) -> None:
        self._db, self._data_keys = session, data_keys

    async def factor(self, user_id: uuid.UUID) -> TotpFactor | None:
        record = await self._db.get(TotpFactorRecord, user_id)
        if record is None:
            return None
        sealed = Sealed(record.data_key_id, record.secret_sealed)
        secret = self._data_keys.open(sealed, totp_context(user_id)).decode()
        return TotpFactor(user_id, secret, record.confirmed_at, record.last_used_step)

    async def replace_pending(self, user_id: uuid.UUID, secret: str, now: datetime) -> None:
        sealed = self._data_keys.seal(secret.encode(), totp_context(user_id))
        await self._db.execute(
            delete(TotpFactorRecord).where(col(TotpFactorRecord.user_id) == user_id)
        )
        self._db.add(
            TotpFactorRecord(
                user_id=user_id,
                secret_sealed=sealed.ciphertext,
                data_key_id=sealed.key_id,
                created_at=now,
            )
        )
        await self._db.flush()

    async def use_step(
        self, user_id: uuid.UUID, step: int, *, confirm_at: datetime | None = None
    ) -> bool:
        """Records that a code of `step` was used; False if that step (or a later one) already
        was, so a code seen over someone's shoulder cannot be replayed. `confirm_at` also
        activates a pending factor."""
        values: dict[str, object] = {"last_used_step": step}
        if confirm_at is not None:
            values["confirmed_at"] = confirm_at
        result = await self._db.execute(
            update(TotpFactorRecord)
            .where(
                col(TotpFactorRecord.user_id) == user_id,
                col(TotpFactorRecord.last_used_step) < step,
            )
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def remove(self, user_id: uuid.UUID) -> bool:
        """Deletes the factor and its recovery codes; False when there was none."""
        await self._db.execute(
            delete(RecoveryCodeRecord).where(col(RecoveryCodeRecord.user_id) == user_id)
        )
        removed = await self._db.execute(
            delete(TotpFactorRecord).where(col(TotpFactorRecord.user_id) == user_id)
        )
        return bool(removed.rowcount)  # type: ignore[attr-defined]

    async def replace_recovery_codes(self, user_id: uuid.UUID, code_hashes: list[bytes]) -> None:
        await self._db.execute(
            delete(RecoveryCodeRecord).where(col(RecoveryCodeRecord.user_id) == user_id)
        )
        self._db.add_all(RecoveryCodeRecord(user_id=user_id, code_hash=h) for h in code_hashes)
        await self._db.flush()

    async def use_recovery_code(self, user_id: uuid.UUID, code_hash: bytes, now: datetime) -> bool:
        result = await self._db.execute(
            update(RecoveryCodeRecord)
            .where(
                col(RecoveryCodeRecord.user_id) == user_id,
                col(RecoveryCodeRecord.code_hash) == code_hash,
                col(RecoveryCodeRecord.used_at).is_(None),
            )
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
