"""Loads and stores provider connections (their tokens sealed), pending authorizations and
imported activities."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Result, delete, literal_column, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from stride.activity.adapters.tables import (
    ImportedActivityRecord,
    PendingAuthorizationRecord,
    ProviderConnectionRecord,
)
from stride.activity.domain.providers import (
    ActivityData,
    ConnectionState,
    Grant,
    ImportedActivity,
    PendingAuthorization,
    Provider,
    ProviderConnection,
    ProviderTokens,
)
from stride.platform.crypto.sealing import DataKeyring, Sealed
from stride.platform.db.pruning import PRUNE_BATCH, delete_where_in_batches


class ConnectionRepository:
    def __init__(self, session: AsyncSession, data_keys: DataKeyring) -> None:
        self._db = session
        self._data_keys = data_keys

    async def add_authorization(self, pending: PendingAuthorization) -> None:
        """Stores the member's started authorization in place of any they started before for
        the provider (so each member holds at most one per provider until it expires)."""
        await self._db.execute(
            delete(PendingAuthorizationRecord).where(
                col(PendingAuthorizationRecord.member_id) == pending.member_id,
                col(PendingAuthorizationRecord.provider) == pending.provider.value,
            )
        )
        verifier = self._data_keys.seal(
            pending.code_verifier.encode(), _verifier_context(pending.state_digest)
        )
        self._db.add(
            PendingAuthorizationRecord(
                state_digest=pending.state_digest,
                member_id=pending.member_id,
                provider=pending.provider.value,
                expire_time=pending.expire_time,
                data_key_id=verifier.key_id,
                code_verifier_sealed=verifier.ciphertext,
            )
        )
        await self._db.flush()

    async def take_authorization(
        self, state_digest: str, member_id: uuid.UUID, provider: Provider
    ) -> PendingAuthorization | None:
        """The authorization this member started with this state for this provider, removed:
        a state completes once (and only for whoever started it)."""
        taken = await self._db.execute(
            delete(PendingAuthorizationRecord)
            .where(
                col(PendingAuthorizationRecord.state_digest) == state_digest,
                col(PendingAuthorizationRecord.member_id) == member_id,
                col(PendingAuthorizationRecord.provider) == provider.value,
            )
            .returning(
                col(PendingAuthorizationRecord.member_id),
                col(PendingAuthorizationRecord.provider),
                col(PendingAuthorizationRecord.expire_time),
                col(PendingAuthorizationRecord.data_key_id),
                col(PendingAuthorizationRecord.code_verifier_sealed),
            )
        )
        row = taken.first()
        if row is None:
            return None
        verifier = self._data_keys.open(Sealed(row[3], row[4]), _verifier_context(state_digest))
        return PendingAuthorization(
            state_digest, row[0], Provider(row[1]), row[2], verifier.decode()
        )

    async def connect(
        self,
        member_id: uuid.UUID,
        provider: Provider,
        grant: Grant,
        scopes: tuple[str, ...],
        now: datetime,
    ) -> ProviderConnection:
        """Stores the member's connection with the grant's tokens. The provider account is one
        member's: whoever connected it before loses it."""
        await self._db.execute(
            delete(ProviderConnectionRecord).where(
                col(ProviderConnectionRecord.provider) == provider.value,
                col(ProviderConnectionRecord.account_id) == grant.account_id,
                col(ProviderConnectionRecord.member_id) != member_id,
            )
        )
        row = {
            "member_id": member_id,
            "provider": provider.value,
            "account_id": grant.account_id,
            "scopes": list(scopes),
            "state": ConnectionState.CONNECTED.value,
            **self._sealed_tokens(member_id, provider, grant.tokens),
            "refresh_lease_id": None,
            "refresh_lease_expire_time": None,
            "create_time": now,
            "update_time": now,
        }
        statement = insert(ProviderConnectionRecord).values(row)
        kept = {"member_id", "provider", "create_time"}
        upsert = statement.on_conflict_do_update(
            index_elements=["member_id", "provider"],
            set_={key: statement.excluded[key] for key in row if key not in kept},
        )
        written = await self._db.execute(
            upsert.returning(ProviderConnectionRecord).execution_options(populate_existing=True)
        )
        return _connection(written.scalars().one())

    async def get(
        self, member_id: uuid.UUID, provider: Provider, *, lock: bool = False
    ) -> ProviderConnection | None:
        statement = select(ProviderConnectionRecord).where(
            col(ProviderConnectionRecord.member_id) == member_id,
            col(ProviderConnectionRecord.provider) == provider.value,
        )
        if lock:
            statement = statement.with_for_update()
        record = (await self._db.execute(statement)).scalars().first()
        return _connection(record) if record else None

    async def by_account(self, provider: Provider, account_id: str) -> ProviderConnection | None:
        found = await self._db.execute(
            select(ProviderConnectionRecord).where(
                col(ProviderConnectionRecord.provider) == provider.value,
                col(ProviderConnectionRecord.account_id) == account_id,
            )
        )
        record = found.scalars().first()
        return _connection(record) if record else None

    async def of_member(
        self, member_id: uuid.UUID, offset: int, limit: int | None
    ) -> list[ProviderConnection]:
        found = await self._db.execute(
            select(ProviderConnectionRecord)
            .where(col(ProviderConnectionRecord.member_id) == member_id)
            .order_by(col(ProviderConnectionRecord.provider))
            .offset(offset)
            .limit(limit)
        )
        return [_connection(record) for record in found.scalars()]

    async def tokens(self, member_id: uuid.UUID, provider: Provider) -> ProviderTokens | None:
        record = await self._db.get(
            ProviderConnectionRecord, (member_id, provider.value), populate_existing=True
        )
        return self._opened(record) if record else None

    def _opened(self, record: ProviderConnectionRecord) -> ProviderTokens:
        context = _token_context(record.member_id, Provider(record.provider))
        return ProviderTokens(
            self._data_keys.open(
                Sealed(record.data_key_id, record.access_token_sealed), f"{context}:access"
            ).decode(),
            self._data_keys.open(
                Sealed(record.data_key_id, record.refresh_token_sealed), f"{context}:refresh"
            ).decode(),
            record.token_expire_time,
        )

    async def set_state(
        self, member_id: uuid.UUID, provider: Provider, state: ConnectionState, now: datetime
    ) -> None:
        await self._db.execute(
            update(ProviderConnectionRecord)
            .where(
                col(ProviderConnectionRecord.member_id) == member_id,
                col(ProviderConnectionRecord.provider) == provider.value,
            )
            .values(state=state.value, update_time=now)
        )

    async def set_scopes(
        self, member_id: uuid.UUID, provider: Provider, scopes: tuple[str, ...], now: datetime
    ) -> None:
        await self._db.execute(
            update(ProviderConnectionRecord)
            .where(
                col(ProviderConnectionRecord.member_id) == member_id,
                col(ProviderConnectionRecord.provider) == provider.value,
            )
            .values(scopes=list(scopes), update_time=now)
        )

    async def delete(self, member_id: uuid.UUID, provider: Provider) -> None:
        await self._db.execute(
            delete(ProviderConnectionRecord).where(
                col(ProviderConnectionRecord.member_id) == member_id,
                col(ProviderConnectionRecord.provider) == provider.value,
            )
        )

    async def claim_refresh(
        self,
        member_id: uuid.UUID,
        provider: Provider,
        lease_id: uuid.UUID,
        now: datetime,
        lease: timedelta,
    ) -> ProviderTokens | None:
        """Takes the connection's refresh lease unless another caller holds a live one; the
        tokens as they are once it is taken (another caller may have refreshed them since they
        were read), or None if it is not."""
        claimed = await self._db.execute(
            update(ProviderConnectionRecord)
            .where(
                col(ProviderConnectionRecord.member_id) == member_id,
                col(ProviderConnectionRecord.provider) == provider.value,
                or_(
                    col(ProviderConnectionRecord.refresh_lease_expire_time).is_(None),
                    col(ProviderConnectionRecord.refresh_lease_expire_time) <= now,
                ),
            )
            .values(refresh_lease_id=lease_id, refresh_lease_expire_time=now + lease)
            .returning(ProviderConnectionRecord)
            .execution_options(populate_existing=True)
        )
        record = claimed.scalars().first()
        return self._opened(record) if record else None

    async def settle_refresh(
        self,
        member_id: uuid.UUID,
        provider: Provider,
        lease_id: uuid.UUID,
        tokens: ProviderTokens | None,
        now: datetime,
    ) -> None:
        """Stores the refreshed tokens (if any) and frees the lease, if it is still ours."""
        values: dict[str, object] = {"refresh_lease_id": None, "refresh_lease_expire_time": None}
        if tokens is not None:
            values |= self._sealed_tokens(member_id, provider, tokens) | {"update_time": now}
        await self._db.execute(
            update(ProviderConnectionRecord)
            .where(
                col(ProviderConnectionRecord.member_id) == member_id,
                col(ProviderConnectionRecord.provider) == provider.value,
                col(ProviderConnectionRecord.refresh_lease_id) == lease_id,
            )
            .values(**values)
        )

    def _sealed_tokens(
        self, member_id: uuid.UUID, provider: Provider, tokens: ProviderTokens
    ) -> dict[str, object]:
        context = _token_context(member_id, provider)
        access = self._data_keys.seal(tokens.access_token.encode(), f"{context}:access")
        refresh = self._data_keys.seal(tokens.refresh_token.encode(), f"{context}:refresh")
        return {
            "data_key_id": access.key_id,
            "access_token_sealed": access.ciphertext,
            "refresh_token_sealed": refresh.ciphertext,
            "token_expire_time": tokens.expire_time,
        }


class ImportedActivityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def save(self, activity: ImportedActivity) -> bool:
        """Writes the activity over any stored copy; True if it was not stored before."""
        data = activity.data
        row = {
            "provider": activity.provider.value,
            "external_id": data.external_id,
            "member_id": activity.member_id,
            "display_name": data.display_name,
            "sport_type": data.sport_type,
            "start_time": data.start_time,
            "elapsed_seconds": data.elapsed_seconds,
            "moving_seconds": data.moving_seconds,
            "distance_meters": data.distance_meters,
            "elevation_gain_meters": data.elevation_gain_meters,
            "average_heart_rate": data.average_heart_rate,
            "max_heart_rate": data.max_heart_rate,
            "create_time": activity.update_time,
            "update_time": activity.update_time,
        }
        statement = insert(ImportedActivityRecord).values(row)
        kept = {"provider", "external_id", "create_time"}
        upsert = statement.on_conflict_do_update(
            index_elements=["provider", "external_id"],
            set_={key: statement.excluded[key] for key in row if key not in kept},
        )
        # A row just inserted has no xmax; one updated has the updating transaction's.
        saved: Result[Any] = await self._db.execute(upsert.returning(literal_column("xmax = 0")))
        return bool(saved.scalar_one())

    async def delete(self, provider: Provider, external_id: str, member_id: uuid.UUID) -> None:
        await self._db.execute(
            delete(ImportedActivityRecord).where(
                col(ImportedActivityRecord.provider) == provider.value,
                col(ImportedActivityRecord.external_id) == external_id,
                col(ImportedActivityRecord.member_id) == member_id,
            )
        )

    async def delete_between(
        self,
        member_id: uuid.UUID,
        provider: Provider,
        start: datetime,
        end: datetime,
        *,
        keep: Sequence[str],
    ) -> None:
        """Deletes the member's activities from the provider starting in [start, end), but
        those in `keep`."""
        await self._db.execute(
            delete(ImportedActivityRecord).where(
                col(ImportedActivityRecord.member_id) == member_id,
                col(ImportedActivityRecord.provider) == provider.value,
                col(ImportedActivityRecord.start_time) >= start,
                col(ImportedActivityRecord.start_time) < end,
                col(ImportedActivityRecord.external_id).not_in(list(keep)),
            )
        )

    async def delete_of_member(self, member_id: uuid.UUID, provider: Provider) -> None:
        await self._db.execute(
            delete(ImportedActivityRecord).where(
                col(ImportedActivityRecord.member_id) == member_id,
                col(ImportedActivityRecord.provider) == provider.value,
            )
        )

    async def latest(self, member_id: uuid.UUID, offset: int, limit: int) -> list[ImportedActivity]:
        found = await self._db.execute(
            select(ImportedActivityRecord)
            .where(col(ImportedActivityRecord.member_id) == member_id)
            .order_by(
                col(ImportedActivityRecord.start_time).desc(),
                col(ImportedActivityRecord.provider),
                col(ImportedActivityRecord.external_id),
            )
            .offset(offset)
            .limit(limit)
        )
        return [_imported(record) for record in found.scalars()]


async def prune_expired_authorizations(
    sessions: async_sessionmaker[AsyncSession], now: datetime, batch_size: int = PRUNE_BATCH
) -> int:
    """Deletes authorizations started and never completed in time; how many."""
    expired = col(PendingAuthorizationRecord.expire_time) < now
    key = (col(PendingAuthorizationRecord.state_digest),)
    return await delete_where_in_batches(
        sessions, PendingAuthorizationRecord, key, expired, batch_size
    )


def _verifier_context(state_digest: str) -> str:
    """Binds a sealed PKCE verifier to its authorization."""
    return f"pendingAuthorizations/{state_digest}:code_verifier"


def _token_context(member_id: uuid.UUID, provider: Provider) -> str:
    """Binds sealed tokens to their row: copied into another, they do not open."""
    return f"users/{member_id}/providerConnections/{provider.value}"


def _connection(record: ProviderConnectionRecord) -> ProviderConnection:
    return ProviderConnection(
        member_id=record.member_id,
        provider=Provider(record.provider),
        account_id=record.account_id,
        scopes=tuple(record.scopes),
        state=ConnectionState(record.state),
        create_time=record.create_time,
        update_time=record.update_time,
    )


def _imported(record: ImportedActivityRecord) -> ImportedActivity:
    return ImportedActivity(
        member_id=record.member_id,
        provider=Provider(record.provider),
        data=ActivityData(
            external_id=record.external_id,
            display_name=record.display_name,
            sport_type=record.sport_type,
            start_time=record.start_time,
            elapsed_seconds=record.elapsed_seconds,
            moving_seconds=record.moving_seconds,
            distance_meters=record.distance_meters,
            elevation_gain_meters=record.elevation_gain_meters,
            average_heart_rate=record.average_heart_rate,
            max_heart_rate=record.max_heart_rate,
        ),
        update_time=record.update_time,
    )
