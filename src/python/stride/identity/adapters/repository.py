"""Loads and stores accounts."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from stride.identity.adapters.tables import UserRecord
from stride.identity.domain.model import User
from stride.platform.errors import AlreadyExists


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: User, password_hash: str) -> None:
        """Inserts the account; a concurrent sign-up with the same email loses here."""
        self._session.add(
            UserRecord(
                id=user.id,
                email=user.email,
                password_hash=password_hash,
                display_name=user.display_name,
                language_code=user.language_code,
                time_zone=user.time_zone,
                email_verified=user.email_verified,
                created_at=user.created_at,
                updated_at=user.created_at,
            )
        )
        try:
            await self._session.flush()
        except IntegrityError as error:
            raise AlreadyExists("EMAIL_TAKEN", "user.email_taken") from error

    async def get(self, user_id: uuid.UUID) -> User | None:
        record = await self._session.get(UserRecord, user_id)
        return _to_user(record) if record else None

    async def exists_with_email(self, email: str) -> bool:
        found = await self._session.execute(select(UserRecord.id).where(UserRecord.email == email))
        return found.first() is not None


def _to_user(record: UserRecord) -> User:
    return User(
        id=record.id,
        email=record.email,
        display_name=record.display_name,
        language_code=record.language_code,
        time_zone=record.time_zone,
        email_verified=record.email_verified,
        created_at=record.created_at,
    )
