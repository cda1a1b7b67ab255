"""The delivery log: every attempt at a push or an email, and how each delivery stands, read
across both channels (for support staff and dead letters)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, false, literal, true, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.notifications.adapters.tables import (
    DeliveryAttemptRecord,
    DeliveryRecord,
    EmailRecord,
    NotificationRecord,
)
from stride.notifications.domain.notifications import (
    EMAIL_TARGET,
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
    target: str | None = None  # A device's id, or EMAIL_TARGET.


class DeliveryLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def log(self, attempts: Sequence[Attempt]) -> None:
        if not attempts:
            return
        await self._db.execute(
            insert(DeliveryAttemptRecord),
            [
                {
                    "notification_id": attempt.notification_id,
                    "target": attempt.target,
                    "channel": attempt.channel.value,
                    "attempt": attempt.number,
                    "outcome": attempt.outcome.value,
                    "attempted_at": attempt.at,
                }
                for attempt in attempts
            ],
        )

    async def statuses(
        self, matching: DeliveryFilter, offset: int, limit: int
    ) -> list[DeliveryStatus]:
        """Pushes and emails matching, most recently changed first, each with its log."""
        pushes = select(
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
        emails = select(
            col(EmailRecord.user_id),
            col(EmailRecord.id),
            literal(EMAIL_TARGET),
            literal(Channel.EMAIL.value),
            col(EmailRecord.state),
            col(EmailRecord.attempts),
            col(EmailRecord.next_attempt),
            col(EmailRecord.updated_at),
        )
        pushes = pushes.where(*_conditions(matching, NotificationRecord.user_id, DeliveryRecord))
        emails = emails.where(*_conditions(matching, EmailRecord.user_id, EmailRecord))
        both = union_all(pushes, emails).subquery()
        rows = (
            await self._db.execute(
                select(both)
                .order_by(both.c.updated_at.desc(), both.c.notification_id, both.c.target)
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
        if status.channel is Channel.EMAIL:
            query = update(EmailRecord).where(col(EmailRecord.id) == status.notification_id)
        else:
            query = update(DeliveryRecord).where(
                col(DeliveryRecord.notification_id) == status.notification_id,
                col(DeliveryRecord.device_id) == uuid.UUID(status.target),
            )
        await self._db.execute(query.values(**values))


def _conditions(matching: DeliveryFilter, owner: Any, table: Any) -> list[Any]:
    emails = table is EmailRecord
    key = table.id if emails else table.notification_id
    conditions: list[Any] = []
    if matching.target is not None:
        if emails or matching.target == EMAIL_TARGET:
            conditions.append(true() if emails and matching.target == EMAIL_TARGET else false())
        else:
            conditions.append(col(table.device_id) == uuid.UUID(matching.target))
    if matching.user_id is not None:
        conditions.append(col(owner) == matching.user_id)
    if matching.notification_id is not None:
        conditions.append(col(key) == matching.notification_id)
    if matching.state is not None:
        conditions.append(col(table.state) == matching.state.value)
    return conditions
