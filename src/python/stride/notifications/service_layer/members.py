"""What members do themselves: their devices, their inbox and their preferences."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import time

from stride.notifications import translations  # noqa: F401 - registers the texts.
from stride.notifications.domain.notifications import (
    Device,
    Notification,
    Platform,
    register_device,
)
from stride.notifications.domain.preferences import Preferences, validate_preferences
from stride.notifications.domain.unsubscribe import unsubscribed_user
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FieldViolation, InvalidArgument, NotFound


async def register(
    uow: NotificationsUnitOfWork,
    user_id: uuid.UUID,
    token: str,
    platform: Platform | None,
    clock: Clock = utcnow,
) -> Device:
    require_self_or_role(str(user_id))
    device = register_device(user_id, token, platform, clock())
    async with uow:
        await uow.notifications.register_device(device)
        await uow.commit()
    return device


async def unregister(
    uow: NotificationsUnitOfWork, user_id: uuid.UUID, device_id: uuid.UUID
) -> None:
    require_self_or_role(str(user_id))
    async with uow:
        if not await uow.notifications.delete_device(device_id, user_id):
            raise NotFound("DEVICE_NOT_FOUND", "device.not_found")
        await uow.commit()


async def inbox(
    uow: NotificationsUnitOfWork, user_id: uuid.UUID, offset: int, limit: int
) -> list[Notification]:
    require_self_or_role(str(user_id))
    async with uow:
        return await uow.notifications.inbox(user_id, offset, limit)


async def mark_read(
    uow: NotificationsUnitOfWork,
    user_id: uuid.UUID,
    notification_id_: uuid.UUID,
    clock: Clock = utcnow,
) -> Notification:
    require_self_or_role(str(user_id))
    async with uow:
        found = await uow.notifications.get(notification_id_)
        if found is None or found.user_id != user_id:
            raise NotFound("NOTIFICATION_NOT_FOUND", "notification.not_found")
        now = clock()
        await uow.notifications.mark_read(found.id, now)
        await uow.commit()
    return replace(found, read=found.read or now)


PREFERENCE_FIELDS = frozenset(
    {
        "quiet_hours_start",
        "quiet_hours_end",
        "marketing_push",
        "marketing_email",
        "phone_number",
    }
)
# Shown with the preferences but set in the member's Identity profile, which Notifications
# follows: output only here, so a mask naming it is not an error, just ignored (AIP-203).
FOLLOWING_IDENTITY = frozenset({"time_zone"})


async def unsubscribe(
    uow: NotificationsUnitOfWork, secret: bytes, token: str, clock: Clock = utcnow
) -> None:
    """Marketing email off for the user a signed unsubscribe token names. Public."""
    user_id = unsubscribed_user(secret, token)
    async with uow:
        current = await uow.notifications.preferences_of(user_id)
        await uow.notifications.save_preferences(replace(current, marketing_email=False), clock())
        await uow.commit()


async def preferences(uow: NotificationsUnitOfWork, user_id: uuid.UUID) -> Preferences:
    require_self_or_role(str(user_id))
    async with uow:
        return await uow.notifications.preferences_of(user_id)


async def update_preferences(
    uow: NotificationsUnitOfWork,
    user_id: uuid.UUID,
    changes: Mapping[str, str | bool],
    clock: Clock = utcnow,
) -> Preferences:
    """Applies `changes` (fields of PREFERENCE_FIELDS) to the stored preferences."""
    require_self_or_role(str(user_id))
    unknown = sorted(set(changes) - PREFERENCE_FIELDS - FOLLOWING_IDENTITY)
    if unknown:
        raise InvalidArgument(
            [FieldViolation("update_mask", "preferences.unknown_field", {"field": unknown[0]})]
        )
    async with uow:
        current = await uow.notifications.preferences_of(user_id)
        chosen = {key: value for key, value in changes.items() if key in PREFERENCE_FIELDS}
        merged = {**preference_fields(current), **chosen}
        updated = validate_preferences(
            current,
            str(merged["quiet_hours_start"]),
            str(merged["quiet_hours_end"]),
            bool(merged["marketing_push"]),
            bool(merged["marketing_email"]),
            str(merged["phone_number"]),
            limits=uow.limits,
        )
        await uow.notifications.save_preferences(updated, clock())
        await uow.commit()
    return updated


def preference_fields(preferences: Preferences) -> dict[str, str | bool]:
    def clock_time(moment: time | None) -> str:
        return moment.strftime("%H:%M") if moment else ""

    return {
        "quiet_hours_start": clock_time(preferences.quiet_start),
        "quiet_hours_end": clock_time(preferences.quiet_end),
        "marketing_push": preferences.marketing_push,
        "marketing_email": preferences.marketing_email,
        "phone_number": preferences.phone_number,
    }
