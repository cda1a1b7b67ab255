"""Loads and stores recipients, devices, the inbox and push deliveries."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DateTime, Integer, String, Table, Uuid, delete, exists, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from stride.notifications.adapters.bulk import unnest
from stride.notifications.adapters.tables import (
    DeliveryRecord,
    DeviceRecord,
    MembershipRecord,
    NotificationRecord,
    RecipientRecord,
)
from stride.notifications.domain.notifications import (
    Delivery,
    DeliveryState,
    Device,
    Notification,
    Platform,
)
from stride.notifications.domain.preferences import Preferences
from stride.platform.i18n import DEFAULT_LOCALE


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def keep_address(self, user_id: uuid.UUID, email: str, now: datetime) -> None:
        """The address messages to the user go to, from Identity's events."""
        values = {"email": email, "updated_at": now}
        await self._db.execute(
            insert(RecipientRecord)
            .values(user_id=user_id, language=DEFAULT_LOCALE, **values)
            .on_conflict_do_update(index_elements=["user_id"], set_=values)
        )

    async def keep_profile(
        self, user_id: uuid.UUID, language: str, time_zone: str, revision: int, now: datetime
    ) -> None:
        """The user's language and time zone as of Identity's profile `revision`, unless a
        later revision is already known (its events may arrive in any order)."""
        values = {
            "language": language,
            "time_zone": time_zone,
            "profile_revision": revision,
            "updated_at": now,
        }
        await self._db.execute(
            insert(RecipientRecord)
            .values(user_id=user_id, email="", **values)
            .on_conflict_do_update(
                index_elements=["user_id"],
                set_=values,
                where=col(RecipientRecord.profile_revision) <= revision,
            )
        )

    async def address_of(self, user_id: uuid.UUID) -> str | None:
        """The email address messages to the user go to."""
        record = await self._db.get(RecipientRecord, user_id)
        return record.email if record else None

    async def keep_membership(
        self, subscription: str, user_id: uuid.UUID, active: bool, changed: datetime
    ) -> None:
        """Records whether a subscription gives access, unless a later change is known (events
        of different types may arrive out of order)."""
        values = {"active": active, "changed_at": changed}
        await self._db.execute(
            insert(MembershipRecord)
            .values(subscription=subscription, user_id=user_id, **values)
            .on_conflict_do_update(
                index_elements=["subscription"],
                set_=values,
                where=col(MembershipRecord.changed_at) <= changed,
            )
        )

    async def language_of(self, user_id: uuid.UUID) -> str | None:
        record = await self._db.get(RecipientRecord, user_id)
        return record.language if record else None

    async def preferences_of(self, user_id: uuid.UUID) -> Preferences:
        """The user's preferences; the defaults until they set some."""
        record = await self._db.get(RecipientRecord, user_id)
        return to_preferences(record) if record else Preferences(user_id)

    async def save_preferences(self, preferences: Preferences, now: datetime) -> None:
        """Stores the member's choices, possibly before Identity's event tells us the address;
        the time zone is Identity's to set (`keep_profile`)."""
        values = {
            "quiet_start": preferences.quiet_start,
            "quiet_end": preferences.quiet_end,
            "marketing_push": preferences.marketing_push,
            "marketing_email": preferences.marketing_email,
            "phone_number": preferences.phone_number,
            "verified_phone_number": preferences.verified_phone_number,
            "updated_at": now,
        }
        await self._db.execute(
            insert(RecipientRecord)
            .values(user_id=preferences.user_id, email="", language=DEFAULT_LOCALE, **values)
            .on_conflict_do_update(index_elements=["user_id"], set_=values)
        )

    async def register_device(self, device: Device) -> Device:
        """Stores the device, or moves an already known token to this user."""
        moved = {"user_id": device.user_id, "platform": device.platform.value}
        await self._db.execute(
            insert(DeviceRecord)
            .values(id=device.id, token=device.token, created_at=device.created, **moved)
            .on_conflict_do_update(index_elements=["id"], set_=moved)
        )
        return device

    async def devices_of(self, user_id: uuid.UUID) -> list[Device]:
        records = await self._db.execute(
            select(DeviceRecord).where(DeviceRecord.user_id == user_id)
        )
        return [_to_device(record) for record in records.scalars().all()]

    async def delete_device(self, device_id: uuid.UUID, user_id: uuid.UUID | None = None) -> bool:
        """Removes a device (only the user's own, when `user_id` is given)."""
        query = delete(DeviceRecord).where(col(DeviceRecord.id) == device_id)
        if user_id is not None:
            query = query.where(col(DeviceRecord.user_id) == user_id)
        removed = await self._db.execute(query.returning(col(DeviceRecord.id)))
        return removed.first() is not None

    async def add(self, notification: Notification) -> bool:
        """Stores a new notification; False if it exists (the same event seen again)."""
        added = await self._db.execute(
            insert(NotificationRecord)
            .values(
                id=notification.id,
                user_id=notification.user_id,
                kind=notification.kind,
                subject=notification.subject,
                title=notification.title,
                body=notification.body,
                created_at=notification.created,
                marketing=notification.marketing,
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(col(NotificationRecord.id))
        )
        return added.first() is not None

    async def devices_by_user(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Device]]:
        rows = await self._db.execute(
            sa.select(*(table_of(DeviceRecord).c[name] for name in _DEVICE_COLUMNS)).where(
                col(DeviceRecord.user_id).in_(list(user_ids))
            )
        )
        devices: dict[uuid.UUID, list[Device]] = defaultdict(list)
        for row in rows.all():
            devices[row.user_id].append(_to_device(row))
        return devices

    async def marketing_pushes_since(
        self, user_ids: Iterable[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, list[datetime]]:
        """When each user was sent marketing notifications with pushes, since `since`."""
        rows = await self._db.execute(
            select(col(NotificationRecord.user_id), col(NotificationRecord.created_at)).where(
                col(NotificationRecord.user_id).in_(list(user_ids)),
                col(NotificationRecord.marketing).is_(True),
                col(NotificationRecord.created_at) >= since,
                exists().where(col(DeliveryRecord.notification_id) == col(NotificationRecord.id)),
            )
        )
        sent: dict[uuid.UUID, list[datetime]] = defaultdict(list)
        for user_id, created in rows.all():
            sent[user_id].append(created)
        return sent

    async def inbox(self, user_id: uuid.UUID, offset: int, limit: int) -> list[Notification]:
        records = await self._db.execute(
            select(NotificationRecord)
            .where(NotificationRecord.user_id == user_id)
            .order_by(col(NotificationRecord.created_at).desc(), col(NotificationRecord.id))
            .offset(offset)
            .limit(limit)
        )
        return [_to_notification(record) for record in records.scalars().all()]

    async def get(self, notification_id: uuid.UUID) -> Notification | None:
        record = await self._db.get(NotificationRecord, notification_id)
        return _to_notification(record) if record else None

    async def mark_read(self, notification_id: uuid.UUID, now: datetime) -> None:
        await self._db.execute(
            update(NotificationRecord)
            .where(
                col(NotificationRecord.id) == notification_id,
                col(NotificationRecord.read_at).is_(None),
            )
            .values(read_at=now)
        )

    async def add_deliveries(
        self, notification_id: uuid.UUID, devices: list[Device], due: datetime, now: datetime
    ) -> None:
        for device in devices:
            self._db.add(
                DeliveryRecord(
                    notification_id=notification_id,
                    device_id=device.id,
                    token=device.token,
                    state=DeliveryState.PENDING.value,
                    next_attempt=due,
                    updated_at=now,
                )
            )
        await self._db.flush()

    async def claim_due(self, now: datetime, limit: int) -> list[tuple[Delivery, Notification]]:
        """Up to `limit` pushes due by `now`, marked SENDING; ones another sender holds are
        skipped. The caller commits before sending, so a claim is never undone by a crash.
        One statement: it locks the due rows, marks them and returns them with their
        notifications."""
        due = (
            select(col(DeliveryRecord.notification_id), col(DeliveryRecord.device_id))
            .where(
                col(DeliveryRecord.state) == DeliveryState.PENDING.value,
                col(DeliveryRecord.next_attempt) <= now,
            )
            .order_by(col(DeliveryRecord.next_attempt))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        deliveries, notifications = table_of(DeliveryRecord), table_of(NotificationRecord)
        rows = await self._db.execute(
            update(deliveries)
            .where(
                deliveries.c.notification_id == due.c.notification_id,
                deliveries.c.device_id == due.c.device_id,
                notifications.c.id == due.c.notification_id,
            )
            .values(state=DeliveryState.SENDING.value, updated_at=now)
            .returning(
                deliveries.c.notification_id,
                deliveries.c.device_id,
                deliveries.c.token,
                deliveries.c.attempts,
                deliveries.c.next_attempt,
                *(notifications.c[name] for name in _NOTIFICATION_COLUMNS),
            )
        )
        return [
            (
                Delivery(
                    row.notification_id,
                    row.device_id,
                    row.token,
                    DeliveryState.SENDING,
                    row.attempts,
                    row.next_attempt,
                ),
                _to_notification(row),
            )
            for row in rows.all()
        ]

    async def save_deliveries(self, deliveries: Sequence[Delivery], now: datetime) -> None:
        """Stores how each delivery stands, in one statement."""
        if not deliveries:
            return
        table = table_of(DeliveryRecord)
        rows = unnest(
            "settled",
            notification_id=(Uuid(), [delivery.notification_id for delivery in deliveries]),
            device_id=(Uuid(), [delivery.device_id for delivery in deliveries]),
            state=(String(), [delivery.state.value for delivery in deliveries]),
            attempts=(Integer(), [delivery.attempts for delivery in deliveries]),
            next_attempt=(_TIMESTAMP, [delivery.next_attempt for delivery in deliveries]),
        )
        await self._db.execute(
            update(table)
            .where(
                table.c.notification_id == rows.c.notification_id,
                table.c.device_id == rows.c.device_id,
            )
            .values(
                state=rows.c.state,
                attempts=rows.c.attempts,
                next_attempt=rows.c.next_attempt,
                updated_at=now,
            )
        )

    async def delete_devices(self, device_ids: Sequence[uuid.UUID]) -> None:
        """Removes devices whose tokens the provider said are dead."""
        if device_ids:
            await self._db.execute(
                delete(DeviceRecord).where(col(DeviceRecord.id).in_(list(device_ids)))
            )


_TIMESTAMP = DateTime(timezone=True)
_NOTIFICATION_COLUMNS = (
    "id",
    "user_id",
    "kind",
    "subject",
    "title",
    "body",
    "created_at",
    "read_at",
    "marketing",
)


def table_of(record: type[SQLModel]) -> Table:
    """The table behind a record class, for Core statements."""
    return record.__table__  # type: ignore[attr-defined, no-any-return]


def to_preferences(record: Any) -> Preferences:
    """A recipient's preferences, from its record or a row of its columns."""
    return Preferences(
        record.user_id,
        record.time_zone,
        record.quiet_start,
        record.quiet_end,
        record.marketing_push,
        record.marketing_email,
        record.phone_number,
        record.verified_phone_number,
    )


_DEVICE_COLUMNS = ("id", "user_id", "token", "platform", "created_at")


def _to_device(record: Any) -> Device:
    return Device(
        record.id, record.user_id, record.token, Platform(record.platform), record.created_at
    )


def _to_notification(record: Any) -> Notification:
    return Notification(
        record.id,
        record.user_id,
        record.kind,
        record.subject,
        record.title,
        record.body,
        record.created_at,
        record.read_at,
        record.marketing,
    )
