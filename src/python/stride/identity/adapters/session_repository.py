"""Loads and stores sessions, their refresh tokens, and sign-in failure counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, delete, select

from stride.identity.adapters.sign_in_nonces import IssuedNonce
from stride.identity.adapters.tables import (
    RefreshTokenRecord,
    SessionRecord,
    SignInFailureRecord,
    SpentSignInNonceRecord,
)
from stride.identity.domain.sessions import RefreshToken, Session
from stride.identity.domain.throttling import FORGET_AFTER, FailureCount


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, session: Session) -> None:
        self._db.add(SessionRecord(**_session_fields(session)))
        await self._db.flush()

    async def get(self, session_id: uuid.UUID, *, for_update: bool = False) -> Session | None:
        query = select(SessionRecord).where(SessionRecord.id == session_id)
        if for_update:
            query = query.with_for_update()
        record = (await self._db.execute(query)).scalar_one_or_none()
        return _to_session(record) if record else None

    async def save(self, session: Session) -> None:
        fields = _session_fields(session)
        await self._db.execute(
            update(SessionRecord).where(col(SessionRecord.id) == session.id).values(**fields)
        )

    async def list_for_user(
        self, user_id: uuid.UUID, *, active_at: datetime | None, offset: int, limit: int
    ) -> list[Session]:
        query = select(SessionRecord).where(SessionRecord.user_id == user_id)
        if active_at is not None:
            query = query.where(
                col(SessionRecord.revoked_at).is_(None), col(SessionRecord.expires_at) > active_at
            )
        query = query.order_by(col(SessionRecord.created_at).desc(), col(SessionRecord.id).desc())
        records = await self._db.execute(query.offset(offset).limit(limit))
        return [_to_session(record) for record in records.scalars().all()]

    async def active_for_user(self, user_id: uuid.UUID, now: datetime) -> list[Session]:
        records = await self._db.execute(
            select(SessionRecord)
            .where(
                SessionRecord.user_id == user_id,
                col(SessionRecord.revoked_at).is_(None),
                col(SessionRecord.expires_at) > now,
            )
            .with_for_update()
        )
        return [_to_session(record) for record in records.scalars().all()]

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self._db.add(
            RefreshTokenRecord(
                token_hash=token.token_hash,
                session_id=token.session_id,
                issued_at=token.issued_at,
                used_at=token.used_at,
            )
        )

    async def refresh_token(self, token_hash: bytes) -> RefreshToken | None:
        """Locked, so two concurrent refreshes with one token cannot both succeed."""
        found = await self._db.execute(
            select(RefreshTokenRecord)
            .where(RefreshTokenRecord.token_hash == token_hash)
            .with_for_update()
        )
        record = found.scalar_one_or_none()
        if record is None:
            return None
        return RefreshToken(record.token_hash, record.session_id, record.issued_at, record.used_at)

    async def mark_refresh_token_used(self, token_hash: bytes, now: datetime) -> None:
        await self._db.execute(
            update(RefreshTokenRecord)
            .where(col(RefreshTokenRecord.token_hash) == token_hash)
            .values(used_at=now)
        )

    async def spend_nonce(self, nonce: IssuedNonce) -> bool:
        """Marks a sign-in nonce used; False if it already was (of two sign-ins racing with
        one nonce, one spends it)."""
        spent = await self._db.execute(
            insert(SpentSignInNonceRecord)
            .values(nonce_hash=nonce.digest, expires_at=nonce.expires_at)
            .on_conflict_do_nothing(index_elements=["nonce_hash"])
        )
        return bool(spent.rowcount)  # type: ignore[attr-defined]


class FailureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def lock(self, keys: list[str], now: datetime) -> list[FailureCount]:
        """The counts of `keys`, locked until the transaction ends, so attempts against one key
        are decided one after another. A key without a count gets an empty one to lock; keys
        are locked in one order, so two attempts sharing keys cannot deadlock."""
        ordered = sorted(set(keys))
        await self._db.execute(
            insert(SignInFailureRecord)
            .values([{"key": key, "failures": 0, "last_failure_at": now} for key in ordered])
            .on_conflict_do_nothing(index_elements=["key"])
        )
        found = await self._db.execute(
            select(SignInFailureRecord)
            .where(col(SignInFailureRecord.key).in_(ordered))
            .order_by(col(SignInFailureRecord.key))
            .with_for_update()
        )
        return [FailureCount(r.key, r.failures, r.last_failure_at) for r in found.scalars().all()]

    async def record_failure(self, key: str, now: datetime) -> FailureCount:
        """Counts one failure atomically: concurrent guesses cannot undercount each other."""
        table = SignInFailureRecord.__table__.c  # type: ignore[attr-defined]
        statement = insert(SignInFailureRecord).values(key=key, failures=1, last_failure_at=now)
        counted = await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "failures": case(
                        (table.last_failure_at < now - FORGET_AFTER, 1),
                        else_=table.failures + 1,
                    ),
                    "last_failure_at": now,
                },
            ).returning(table.failures)
        )
        return FailureCount(key, counted.scalar_one(), now)

    async def undo(self, key: str) -> None:
        """Takes one counted attempt back (never below none)."""
        table = SignInFailureRecord.__table__.c  # type: ignore[attr-defined]
        await self._db.execute(
            update(SignInFailureRecord)
            .where(col(SignInFailureRecord.key) == key, col(SignInFailureRecord.failures) > 0)
            .values(failures=table.failures - 1)
        )

    async def clear(self, key: str) -> None:
        await self._db.execute(
            delete(SignInFailureRecord).where(col(SignInFailureRecord.key) == key)
        )

    async def clear_starting_with(self, prefix: str) -> None:
        await self._db.execute(
            delete(SignInFailureRecord).where(col(SignInFailureRecord.key).startswith(prefix))
        )


def _session_fields(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "studio": session.studio,
        "user_agent": session.user_agent,
        "created_at": session.created_at,
        "last_used_at": session.last_used_at,
        "expires_at": session.expires_at,
        "revoked_at": session.revoked_at,
        "revoke_reason": session.revoke_reason,
    }


def _to_session(record: SessionRecord) -> Session:
    return Session(
        id=record.id,
        user_id=record.user_id,
        studio=record.studio,
        user_agent=record.user_agent,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        revoke_reason=record.revoke_reason,
    )
