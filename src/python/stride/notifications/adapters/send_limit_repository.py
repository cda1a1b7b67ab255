"""Counts of what was sent to whom, and the one-time codes that verify phone numbers."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from stride.notifications.adapters.tables import PhoneCodeRecord, SendCountRecord
from stride.notifications.domain.limits import PhoneCode


class SendCountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def count(self, key: str, window_start: datetime) -> int:
        """Counts one more send for `key` in the window, and says how many that makes: one
        statement, so concurrent senders each get their own number and none slips past a
        cap. Keys are stored hashed (they name numbers and addresses)."""
        key_hash = hashlib.sha256(key.encode()).digest()
        counted = await self._db.execute(
            insert(SendCountRecord)
            .values(key_hash=key_hash, window_start=window_start, sends=1)
            .on_conflict_do_update(
                index_elements=["key_hash", "window_start"],
                set_={"sends": col(SendCountRecord.sends) + 1},
            )
            .returning(col(SendCountRecord.sends))
        )
        return int(counted.scalar_one())


class PhoneCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def replace(self, code: PhoneCode, now: datetime) -> None:
        """Stores the member's new code; any earlier one stops working."""
        values = {
            "phone_number": code.phone_number,
            "code_hash": code.code_hash,
            "attempts": code.attempts,
            "expires_at": code.expires,
            "created_at": now,
        }
        await self._db.execute(
            insert(PhoneCodeRecord)
            .values(user_id=code.user_id, **values)
            .on_conflict_do_update(index_elements=["user_id"], set_=values)
        )

    async def guess(self, user_id: uuid.UUID) -> PhoneCode | None:
        """Counts a guess at the member's code before it is checked (concurrent guesses each
        count), and returns the code as of that guess; None if there is none."""
        counted = await self._db.execute(
            update(PhoneCodeRecord)
            .where(col(PhoneCodeRecord.user_id) == user_id)
            .values(attempts=col(PhoneCodeRecord.attempts) + 1)
            .returning(
                col(PhoneCodeRecord.phone_number),
                col(PhoneCodeRecord.code_hash),
                col(PhoneCodeRecord.expires_at),
                col(PhoneCodeRecord.attempts),
            )
        )
        row = counted.first()
        if row is None:
            return None
        return PhoneCode(user_id, row.phone_number, row.code_hash, row.expires_at, row.attempts)

    async def remove(self, user_id: uuid.UUID) -> None:
        await self._db.execute(
            delete(PhoneCodeRecord).where(col(PhoneCodeRecord.user_id) == user_id)
        )
