"""Loads and stores accounts, their roles and their email verifications."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.identity.adapters.tables import (
    EmailChangeRecord,
    EmailChangeRevertRecord,
    EmailVerificationRecord,
    ExternalIdentityRecord,
    PasswordResetRecord,
    RoleGrantRecord,
    UserRecord,
)
from stride.identity.domain.model import RoleGrant, User
from stride.identity.domain.sessions import EmailVerification
from stride.platform.errors import AlreadyExists


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: User, password_hash: str) -> bool:
        """Inserts the account, unless the address has one: False then (a concurrent sign-up
        with the same address that committed first wins; this waits for it)."""
        inserted = await self._session.execute(
            insert(UserRecord)
            .values(
                id=user.id,
                email=user.email,
                password_hash=password_hash,
                display_name=user.display_name,
                language_code=user.language_code,
                time_zone=user.time_zone,
                email_verified=user.email_verified,
                created_at=user.created_at,
                updated_at=user.created_at,
                phone_number=user.phone_number,
                profile_revision=user.profile_revision,
            )
            .on_conflict_do_nothing(index_elements=[col(UserRecord.email)])
            .returning(col(UserRecord.id))
        )
        return inserted.scalar_one_or_none() is not None

    async def get(self, user_id: uuid.UUID) -> User | None:
        record = await self._session.get(UserRecord, user_id)
        return await self._to_user(record) if record else None

    async def get_with_password_hash(self, email: str) -> tuple[User, str] | None:
        found = await self._session.execute(select(UserRecord).where(UserRecord.email == email))
        record = found.scalar_one_or_none()
        return (await self._to_user(record), record.password_hash) if record else None

    async def save_profile(self, user: User, now: datetime) -> User:
        """Stores the profile under its next revision (concurrent saves of one user queue on
        its row, so the last to commit has the highest); returns it with that revision."""
        saved = await self._session.execute(
            update(UserRecord)
            .where(col(UserRecord.id) == user.id)
            .values(
                display_name=user.display_name,
                language_code=user.language_code,
                time_zone=user.time_zone,
                phone_number=user.phone_number,
                email_verified=user.email_verified,
                updated_at=now,
                profile_revision=col(UserRecord.profile_revision) + 1,
            )
            .returning(col(UserRecord.profile_revision))
        )
        return replace(user, profile_revision=saved.scalar_one())

    async def grant(
        self, user_id: uuid.UUID, grant: RoleGrant, granted_by: uuid.UUID, now: datetime
    ) -> bool:
        """False when the user already held the role there."""
        existing = await self._session.get(RoleGrantRecord, (user_id, grant.role, grant.studio))
        if existing is not None:
            return False
        self._session.add(
            RoleGrantRecord(
                user_id=user_id,
                role=grant.role,
                studio=grant.studio,
                granted_by=granted_by,
                granted_at=now,
            )
        )
        await self._session.flush()
        return True

    async def revoke(self, user_id: uuid.UUID, grant: RoleGrant) -> bool:
        result = await self._session.execute(
            delete(RoleGrantRecord).where(
                col(RoleGrantRecord.user_id) == user_id,
                col(RoleGrantRecord.role) == grant.role,
                col(RoleGrantRecord.studio) == grant.studio,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_email_verification(
        self,
        token_hash: bytes,
        user: User,
        expires_at: datetime,
    ) -> None:
        self._session.add(
            EmailVerificationRecord(
                token_hash=token_hash, user_id=user.id, email=user.email, expires_at=expires_at
            )
        )

    async def email_verification(self, token_hash: bytes) -> EmailVerification | None:
        record = await self._session.get(EmailVerificationRecord, token_hash)
        if record is None:
            return None
        return EmailVerification(record.user_id, record.expires_at, record.used_at)

    async def count_email_verifications(self, user_id: uuid.UUID, expiring_after: datetime) -> int:
        """How many of the user's verification links expire after `expiring_after` (all live
        equally long, so: how many were issued since `expiring_after` minus their lifetime)."""
        counted = await self._session.execute(
            select(func.count()).where(
                col(EmailVerificationRecord.user_id) == user_id,
                col(EmailVerificationRecord.expires_at) > expiring_after,
            )
        )
        return int(counted.scalar_one())

    async def use_email_verifications_of(self, user_id: uuid.UUID, now: datetime) -> None:
        """Every outstanding verification link of the user stops working."""
        await self._session.execute(
            update(EmailVerificationRecord)
            .where(
                col(EmailVerificationRecord.user_id) == user_id,
                col(EmailVerificationRecord.used_at).is_(None),
            )
            .values(used_at=now)
        )

    async def use_email_verification(self, token_hash: bytes, now: datetime) -> uuid.UUID | None:
        """Marks the token used and returns its user, if it is unused and unexpired."""
        found = await self._session.execute(
            update(EmailVerificationRecord)
            .where(
                col(EmailVerificationRecord.token_hash) == token_hash,
                col(EmailVerificationRecord.used_at).is_(None),
                col(EmailVerificationRecord.expires_at) > now,
            )
            .values(used_at=now)
            .returning(col(EmailVerificationRecord.user_id))
        )
        return found.scalar_one_or_none()

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, now: datetime
    ) -> None:
        await self._session.execute(
            update(UserRecord)
            .where(col(UserRecord.id) == user_id)
            .values(password_hash=password_hash, updated_at=now)
        )

    async def add_password_reset(
        self, token_hash: bytes, user_id: uuid.UUID, expires_at: datetime
    ) -> None:
        self._session.add(
            PasswordResetRecord(token_hash=token_hash, user_id=user_id, expires_at=expires_at)
        )

    async def password_reset_user(self, token_hash: bytes, now: datetime) -> uuid.UUID | None:
        """The user of an unused, unexpired reset token, without using it up."""
        found = await self._session.execute(
            select(PasswordResetRecord.user_id).where(
                PasswordResetRecord.token_hash == token_hash,
                col(PasswordResetRecord.used_at).is_(None),
                col(PasswordResetRecord.expires_at) > now,
            )
        )
        return found.scalar_one_or_none()

    async def use_password_reset(self, token_hash: bytes, now: datetime) -> uuid.UUID | None:
        """Uses the token up atomically (a concurrent completion finds it used), along with
        every other outstanding token of its user; returns the user."""
        used = await self._session.execute(
            update(PasswordResetRecord)
            .where(
                col(PasswordResetRecord.token_hash) == token_hash,
                col(PasswordResetRecord.used_at).is_(None),
                col(PasswordResetRecord.expires_at) > now,
            )
            .values(used_at=now)
            .returning(col(PasswordResetRecord.user_id))
        )
        user_id = used.scalar_one_or_none()
        if user_id is not None:
            await self._session.execute(
                update(PasswordResetRecord)
                .where(
                    col(PasswordResetRecord.user_id) == user_id,
                    col(PasswordResetRecord.used_at).is_(None),
                )
                .values(used_at=now)
            )
        return user_id

    async def add_email_change(
        self, token_hash: bytes, user_id: uuid.UUID, new_email: str, expires_at: datetime
    ) -> None:
        self._session.add(
            EmailChangeRecord(
                token_hash=token_hash, user_id=user_id, new_email=new_email, expires_at=expires_at
            )
        )

    async def use_email_change(
        self, token_hash: bytes, now: datetime
    ) -> tuple[uuid.UUID, str] | None:
        """Uses the token up atomically; returns (user, new email) if it was valid."""
        used = await self._session.execute(
            update(EmailChangeRecord)
            .where(
                col(EmailChangeRecord.token_hash) == token_hash,
                col(EmailChangeRecord.used_at).is_(None),
                col(EmailChangeRecord.expires_at) > now,
            )
            .values(used_at=now)
            .returning(col(EmailChangeRecord.user_id), col(EmailChangeRecord.new_email))
        )
        row = used.one_or_none()
        return (row[0], row[1]) if row else None

    async def cancel_email_changes(self, user_id: uuid.UUID, now: datetime) -> None:
        """The user's pending email changes can no longer be confirmed."""
        await self._session.execute(
            update(EmailChangeRecord)
            .where(
                col(EmailChangeRecord.user_id) == user_id,
                col(EmailChangeRecord.used_at).is_(None),
            )
            .values(used_at=now)
        )

    async def add_email_change_revert(
        self, token_hash: bytes, user_id: uuid.UUID, previous_email: str, expires_at: datetime
    ) -> None:
        self._session.add(
            EmailChangeRevertRecord(
                token_hash=token_hash,
                user_id=user_id,
                previous_email=previous_email,
                expires_at=expires_at,
            )
        )

    async def email_change_revert_user(self, token_hash: bytes, now: datetime) -> uuid.UUID | None:
        """The user of an unused, unexpired revert link, without using it up."""
        found = await self._session.execute(
            select(EmailChangeRevertRecord.user_id).where(
                EmailChangeRevertRecord.token_hash == token_hash,
                col(EmailChangeRevertRecord.used_at).is_(None),
                col(EmailChangeRevertRecord.expires_at) > now,
            )
        )
        return found.scalar_one_or_none()

    async def use_email_change_revert(
        self, token_hash: bytes, now: datetime
    ) -> tuple[uuid.UUID, str] | None:
        """Uses the link up atomically, with every other outstanding revert link of its user
        (one revert undoes the account's moves); returns (user, previous email)."""
        used = await self._session.execute(
            update(EmailChangeRevertRecord)
            .where(
                col(EmailChangeRevertRecord.token_hash) == token_hash,
                col(EmailChangeRevertRecord.used_at).is_(None),
                col(EmailChangeRevertRecord.expires_at) > now,
            )
            .values(used_at=now)
            .returning(
                col(EmailChangeRevertRecord.user_id), col(EmailChangeRevertRecord.previous_email)
            )
        )
        row = used.one_or_none()
        if row is None:
            return None
        await self._session.execute(
            update(EmailChangeRevertRecord)
            .where(
                col(EmailChangeRevertRecord.user_id) == row[0],
                col(EmailChangeRevertRecord.used_at).is_(None),
            )
            .values(used_at=now)
        )
        return row[0], row[1]

    async def change_email(self, user_id: uuid.UUID, email: str, now: datetime) -> None:
        """Moves the account; the unique index refuses an address taken in the meantime."""
        try:
            await self._session.execute(
                update(UserRecord)
                .where(col(UserRecord.id) == user_id)
                .values(email=email, email_verified=True, updated_at=now)
            )
        except IntegrityError as error:
            raise AlreadyExists("EMAIL_TAKEN", "user.email_taken") from error

    async def by_external_identity(self, provider: str, subject: str) -> User | None:
        link = await self._session.get(ExternalIdentityRecord, (provider, subject))
        return await self.get(link.user_id) if link else None

    async def link_external_identity(
        self, provider: str, subject: str, user_id: uuid.UUID, now: datetime
    ) -> None:
        self._session.add(
            ExternalIdentityRecord(
                provider=provider, subject=subject, user_id=user_id, linked_at=now
            )
        )
        await self._session.flush()

    async def profiles_after(self, after: uuid.UUID | None, limit: int) -> list[User]:
        """Up to `limit` accounts in id order, from the first after `after` (a keyset page, so
        a walk over every account reads each once however many sign up meanwhile)."""
        query = select(UserRecord).order_by(col(UserRecord.id)).limit(limit)
        if after is not None:
            query = query.where(col(UserRecord.id) > after)
        return await self._to_users(list((await self._session.execute(query)).scalars()))

    async def _to_user(self, record: UserRecord) -> User:
        (user,) = await self._to_users([record])
        return user

    async def _to_users(self, records: list[UserRecord]) -> list[User]:
        """The accounts, with their roles read in one query."""
        grants = await self._session.execute(
            select(RoleGrantRecord).where(
                col(RoleGrantRecord.user_id).in_([record.id for record in records])
            )
        )
        roles: dict[uuid.UUID, list[RoleGrant]] = defaultdict(list)
        for grant in grants.scalars():
            roles[grant.user_id].append(RoleGrant(grant.role, grant.studio))
        return [
            User(
                id=record.id,
                email=record.email,
                display_name=record.display_name,
                language_code=record.language_code,
                time_zone=record.time_zone,
                email_verified=record.email_verified,
                created_at=record.created_at,
                phone_number=record.phone_number,
                roles=tuple(sorted(roles[record.id])),
                profile_revision=record.profile_revision,
            )
            for record in records
        ]
