"""The delivery log: every attempt at a push or an email, and how each delivery stands, read
across both channels (for support staff and dead letters)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DateTime, Integer, String, Uuid, cast, false, literal, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.notifications.adapters.bulk import unnest
from stride.notifications.adapters.tables import (
    DeliveryAttemptRecord,
    DeliveryRecord,
    EmailRecord,
    NotificationRecord,
    TextMessageRecord,
)
from stride.notifications.domain.notifications import (
    EMAIL_TARGET,
    SMS_TARGET,
    Attempt,
    Channel,
    DeliveryState,
    DeliveryStatus,
    SendOutcome,
)


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries: any field left None matches all."""

    user_id: uuid.UUID | None = None
    notification_id: uuid.UUID | None = None
    state: DeliveryState | None = None
    target: str | None = None  # A device's id, EMAIL_TARGET or SMS_TARGET.


class DeliveryLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def log(self, attempts: Sequence[Attempt]) -> None:
        if not attempts:
            return
        rows = unnest(
            "attempts",
            notification_id=(Uuid(), [attempt.notification_id for attempt in attempts]),
            target=(String(), [attempt.target for attempt in attempts]),
            channel=(String(), [attempt.channel.value for attempt in attempts]),
            attempt=(Integer(), [attempt.number for attempt in attempts]),
            outcome=(String(), [attempt.outcome.value for attempt in attempts]),
            attempted_at=(DateTime(timezone=True), [attempt.at for attempt in attempts]),
        )
        await self._db.execute(
            insert(DeliveryAttemptRecord).from_select(list(rows.c.keys()), sa.select(*rows.c))
        )

    async def statuses(
        self, matching: DeliveryFilter, offset: int, limit: int
    ) -> list[DeliveryStatus]:
        """Pushes, emails and texts matching, most recently changed first, each with its log."""
        pushes: Any = sa.select(  # Any: the labels defeat the typed overloads.
            col(NotificationRecord.user_id).label("user_id"),
            col(DeliveryRecord.notification_id).label("notification_id"),
            cast(col(DeliveryRecord.device_id), String).label("target"),
            literal(Channel.PUSH.value).label("channel"),
            col(DeliveryRecord.state).label("state"),
            col(DeliveryRecord.attempts).label("attempts"),
            col(DeliveryRecord.next_attempt).label("next_attempt"),
            col(DeliveryRecord.updated_at).label("updated_at"),
        ).join(
            NotificationRecord, col(NotificationRecord.id) == col(DeliveryRecord.notification_id)
        )
        conditions = _common(
            matching, NotificationRecord.user_id, DeliveryRecord.notification_id, DeliveryRecord
        )
        if matching.target in _SINGLE_ADDRESS:
            conditions.append(false())
        elif matching.target is not None:
            conditions.append(col(DeliveryRecord.device_id) == uuid.UUID(matching.target))
        deliveries = union_all(
            pushes.where(*conditions),
            *(
                _single_address(table, target, channel, matching)
                for target, (table, channel) in _SINGLE_ADDRESS.items()
            ),
        ).subquery()
        rows = (
            await self._db.execute(
                sa.select(deliveries)
                .order_by(
                    deliveries.c.updated_at.desc(),
                    deliveries.c.notification_id,
                    deliveries.c.target,
                )
                .offset(offset)
                .limit(limit)
            )
        ).all()
        logs = await self._logs({row.notification_id for row in rows})
        return [
            DeliveryStatus(
                row.user_id,
                row.notification_id,
                row.target,
                Channel(row.channel),
                DeliveryState(row.state),
                row.attempts,
                row.next_attempt,
                row.updated_at,
                tuple(logs[(row.notification_id, row.target)]),
            )
            for row in rows
        ]

    async def _logs(
        self, notification_ids: set[uuid.UUID]
    ) -> dict[tuple[uuid.UUID, str], list[Attempt]]:
        records = await self._db.execute(
            select(DeliveryAttemptRecord)
            .where(col(DeliveryAttemptRecord.notification_id).in_(notification_ids))
            .order_by(col(DeliveryAttemptRecord.id))  # As logged.
        )
        logs: dict[tuple[uuid.UUID, str], list[Attempt]] = defaultdict(list)
        for record in records.scalars().all():
            logs[(record.notification_id, record.target)].append(
                Attempt(
                    record.notification_id,
                    record.target,
                    Channel(record.channel),
                    record.attempt,
                    SendOutcome(record.outcome),
                    record.attempted_at,
                )
            )
        return logs

    async def save(self, status: DeliveryStatus, now: datetime) -> None:
        """Stores a delivery's state, attempts and next attempt (a dead letter redriven)."""
        values = {
            "state": status.state.value,
            "attempts": status.attempts,
            "next_attempt": status.next_attempt,
            "updated_at": now,
        }
        if status.target in _SINGLE_ADDRESS:
            table = _SINGLE_ADDRESS[status.target][0]
            query = update(table).where(col(table.id) == status.notification_id)
        else:
            query = update(DeliveryRecord).where(
                col(DeliveryRecord.notification_id) == status.notification_id,
                col(DeliveryRecord.device_id) == uuid.UUID(status.target),
            )
        await self._db.execute(query.values(**values))


_SINGLE_ADDRESS: dict[str, tuple[type[EmailRecord] | type[TextMessageRecord], Channel]] = {
    EMAIL_TARGET: (EmailRecord, Channel.EMAIL),
    SMS_TARGET: (TextMessageRecord, Channel.SMS),
}


def _single_address(
    table: type[EmailRecord] | type[TextMessageRecord],
    target: str,
    channel: Channel,
    matching: DeliveryFilter,
) -> Any:
    """An email's or a text's row as a delivery: its notification sends one of each at most."""
    conditions = _common(matching, table.user_id, table.id, table)
    if matching.target not in (None, target):
        conditions.append(false())
    return sa.select(
        col(table.user_id),
        col(table.id),
        literal(target),
        literal(channel.value),
        col(table.state),
        col(table.attempts),
        col(table.next_attempt),
        col(table.updated_at),
    ).where(*conditions)


def _common(matching: DeliveryFilter, owner: Any, notification: Any, table: Any) -> list[Any]:
    conditions = []
    if matching.user_id is not None:
        conditions.append(col(owner) == matching.user_id)
    if matching.notification_id is not None:
        conditions.append(col(notification) == matching.notification_id)
    if matching.state is not None:
        conditions.append(col(table.state) == matching.state.value)
    return conditions
