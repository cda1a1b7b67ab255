"""Turning events into notifications, pushing them to devices, and what members do with their
devices and inbox.

Events arrive through the platform's consumers, whose inbox row commits in the same
transaction as the notification and its deliveries: an event delivered twice is stored once.
Pushes go out after that commit, from `send_due`, which claims each delivery before calling the
provider (at most once, see `domain.notifications`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession

from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.notifications import messages  # noqa: F401 - registers the texts.
from stride.notifications.adapters.fcm_push import FcmAuthError, PushOutcome
from stride.notifications.adapters.repository import NotificationRepository
from stride.notifications.domain.notifications import (
    Delivery,
    DeliveryState,
    Device,
    Notification,
    Platform,
    notification_id,
    register_device,
    retried,
)
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.errors import NotFound
from stride.platform.i18n import CATALOG, DEFAULT_LOCALE, SUPPORTED_LOCALES, Locale
from stride.platform.resource_names import parse_uuid_ids
from stride.scheduling.events.v1.events_pb2 import BookingChanged

Clock = Callable[[], datetime]
SEND_BATCH = 50
_log = logging.getLogger("stride.notifications.push")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Push(Protocol):
    """A push provider (FCM's adapter implements it)."""

    async def send(self, token: str, title: str, body: str, data: Mapping[str, str]) -> PushOutcome:
        ...


async def on_user_registered(
    envelope: Envelope, session: AsyncSession, clock: Clock = utcnow
) -> None:
    """Consumes `identity.user.registered`: remembers how to address the user."""
    registered = UserRegistered()
    envelope.data.Unpack(registered)
    (user_id,) = parse_uuid_ids(
        registered.user, ("users",), field="user", message_key="user.invalid_name"
    )
    await NotificationRepository(session).keep_recipient(
        user_id, registered.email, registered.language_code or DEFAULT_LOCALE, clock()
    )


async def on_waitlist_promoted(
    envelope: Envelope, session: AsyncSession, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.waitlist.promoted`: the member's waitlist place became a booking.
    Into their inbox, and a push to each of their devices."""
    promoted = BookingChanged()
    envelope.data.Unpack(promoted)
    (member_id,) = parse_uuid_ids(
        promoted.member, ("users",), field="member", message_key="user.invalid_name"
    )
    await notify(
        NotificationRepository(session),
        envelope.id,
        member_id,
        "waitlist.promoted",
        promoted.booking,
        clock(),
    )


async def notify(
    repository: NotificationRepository,
    event_id: str,
    user_id: uuid.UUID,
    kind: str,
    subject: str,
    now: datetime,
) -> None:
    """Writes the notification in the user's language, once per event, with a push for each of
    their devices."""
    language = _locale(await repository.language_of(user_id))
    key = f"notification.{kind.replace('.', '_')}"
    notification = Notification(
        notification_id(event_id, user_id),
        user_id,
        kind,
        subject,
        CATALOG.translate(f"{key}.title", language),
        CATALOG.translate(f"{key}.body", language),
        now,
    )
    if await repository.add(notification):
        await repository.add_deliveries(notification.id, await repository.devices_of(user_id), now)


def _locale(language: str | None) -> Locale:
    return cast(Locale, language) if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


async def send_due(
    new_uow: Callable[[], NotificationsUnitOfWork], push: Push, clock: Clock = utcnow
) -> int:
    """Sends every push due now, a batch at a time; how many it sent or settled."""
    handled = 0
    while claimed := await _claim(new_uow(), clock()):
        for delivery, notification in claimed:
            try:
                outcome = await push.send(
                    delivery.token,
                    notification.title,
                    notification.body,
                    {"notification": notification.resource_name, "subject": notification.subject},
                )
            except FcmAuthError:  # Nothing was sent: back in line until the key is fixed.
                _log.exception("push credentials refused")
                outcome = PushOutcome.RETRY
            await _settle(new_uow(), delivery, outcome, clock())
        handled += len(claimed)
    return handled


async def _claim(
    uow: NotificationsUnitOfWork, now: datetime
) -> list[tuple[Delivery, Notification]]:
    async with uow:
        claimed = await uow.notifications.claim_due(now, SEND_BATCH)
        await uow.commit()
    return claimed


async def _settle(
    uow: NotificationsUnitOfWork, delivery: Delivery, outcome: PushOutcome, now: datetime
) -> None:
    """Records how a push went; a token the provider says is dead is pruned."""
    settled = {
        PushOutcome.SENT: replace(delivery, state=DeliveryState.SENT),
        PushOutcome.DEAD_TOKEN: replace(delivery, state=DeliveryState.DEAD_TOKEN),
        PushOutcome.REFUSED: replace(delivery, state=DeliveryState.FAILED),
        PushOutcome.RETRY: retried(delivery, now),
    }[outcome]
    async with uow:
        await uow.notifications.save_delivery(settled, now)
        if outcome is PushOutcome.DEAD_TOKEN:
            await uow.notifications.delete_device(delivery.device_id)
        await uow.commit()
    if settled.state is DeliveryState.FAILED:
        _log.warning("push failed", extra={"outcome": outcome.value, "attempts": settled.attempts})


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
