"""Turning events into notifications and emails, sending them, and what members do with their
devices and inbox.

Events arrive through the platform's consumers, whose inbox row commits in the same
transaction as the notification, its deliveries or the email: an event delivered twice is
stored once. Pushes and emails go out after that commit, from `send_due` and
`send_due_emails`, which claim each one before calling the provider (at most once, see
`domain.notifications`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Protocol, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.events.v1.events_pb2 import PasswordResetRequested, UserRegistered
from stride.notifications import messages  # noqa: F401 - registers the texts.
from stride.notifications.adapters.email_repository import EmailRepository
from stride.notifications.adapters.fcm_push import FcmAuthError
from stride.notifications.adapters.reminder_repository import ReminderRepository
from stride.notifications.adapters.repository import NotificationRepository
from stride.notifications.adapters.templates import Rendered
from stride.notifications.domain.notifications import (
    Delivery,
    DeliveryState,
    Device,
    Email,
    Notification,
    Platform,
    SendOutcome,
    notification_id,
    register_device,
    retried,
)
from stride.notifications.domain.preferences import (
    Category,
    Preferences,
    next_allowed,
    validate_preferences,
)
from stride.notifications.domain.reminders import Reminder
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.errors import FieldViolation, InvalidArgument, NotFound
from stride.platform.i18n import CATALOG, DEFAULT_LOCALE, SUPPORTED_LOCALES, Locale
from stride.platform.resource_names import parse_uuid_ids
from stride.scheduling.events.v1.events_pb2 import BookingChanged, ClassChanged

Clock = Callable[[], datetime]
SEND_BATCH = 50
PASSWORD_RESET_TEMPLATE = 1  # The template version new password-reset emails use.
_log = logging.getLogger("stride.notifications.push")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Push(Protocol):
    """A push provider (FCM's adapter implements it)."""

    async def send(self, token: str, title: str, body: str, data: Mapping[str, str]) -> SendOutcome:
        ...


class Mailer(Protocol):
    """An email provider (the SMTP adapter implements it)."""

    async def send(self, email: Email) -> SendOutcome:
        ...


class Renderer(Protocol):
    def render(
        self, kind: str, version: int, language: str, values: Mapping[str, object]
    ) -> Rendered:
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
    Into their inbox, a push to each of their devices, and a reminder before the class."""
    promoted = BookingChanged()
    envelope.data.Unpack(promoted)
    member_id = _member(promoted)
    now = clock()
    await notify(
        NotificationRepository(session),
        envelope.id,
        member_id,
        "waitlist.promoted",
        promoted.booking,
        now,
    )
    await ReminderRepository(session).schedule(_reminder(promoted, member_id), now)


async def on_booking_confirmed(
    envelope: Envelope, session: AsyncSession, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.booking.confirmed`: a reminder before the class."""
    confirmed = BookingChanged()
    envelope.data.Unpack(confirmed)
    await ReminderRepository(session).schedule(_reminder(confirmed, _member(confirmed)), clock())


async def on_booking_ended(
    envelope: Envelope, session: AsyncSession, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.booking.cancelled` and `.late_cancelled` (a cancelled class
    cancels each of its bookings too): no reminder."""
    ended = BookingChanged()
    envelope.data.Unpack(ended)
    await ReminderRepository(session).cancel(ended.booking, clock())


async def on_class_rescheduled(
    envelope: Envelope, session: AsyncSession, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.class.rescheduled`: its reminders move with it."""
    moved = ClassChanged()
    envelope.data.Unpack(moved)
    await ReminderRepository(session).move(
        moved.class_session, moved.start_time.ToDatetime(UTC), clock()
    )


def _member(booking: BookingChanged) -> uuid.UUID:
    (member_id,) = parse_uuid_ids(
        booking.member, ("users",), field="member", message_key="user.invalid_name"
    )
    return member_id


def _reminder(booking: BookingChanged, member_id: uuid.UUID) -> Reminder:
    return Reminder(
        booking.booking, member_id, booking.class_session, booking.class_start_time.ToDatetime(UTC)
    )


async def send_due_reminders(
    new_uow: Callable[[], NotificationsUnitOfWork], clock: Clock = utcnow
) -> int:
    """Turns reminders that are due into notifications (and their pushes), a batch per
    transaction; how many it sent."""
    sent = 0
    while True:
        uow = new_uow()
        async with uow:
            now = clock()
            due = await uow.reminders.claim_due(now, SEND_BATCH)
            for reminder in (r for r in due if r.class_start > now):  # Not once it started.
                zone = ZoneInfo(
                    (await uow.notifications.preferences_of(reminder.user_id)).time_zone
                )
                await notify(
                    uow.notifications,
                    reminder.event_id,
                    reminder.user_id,
                    "class.reminder",
                    reminder.booking,
                    now,
                    values={"time": reminder.class_start.astimezone(zone).strftime("%H:%M")},
                )
            await uow.commit()
        if not due:
            return sent
        sent += len(due)


async def notify(
    repository: NotificationRepository,
    event_id: str,
    user_id: uuid.UUID,
    kind: str,
    subject: str,
    now: datetime,
    category: Category = Category.TRANSACTIONAL,
    values: Mapping[str, object] | None = None,
) -> None:
    """Writes the notification in the user's language, once per event, with a push for each of
    their devices: at once if transactional; if marketing, only when the user opted in, and
    after their quiet hours."""
    language = _locale(await repository.language_of(user_id))
    key = f"notification.{kind.replace('.', '_')}"
    notification = Notification(
        notification_id(event_id, user_id),
        user_id,
        kind,
        subject,
        CATALOG.translate(f"{key}.title", language, values),
        CATALOG.translate(f"{key}.body", language, values),
        now,
    )
    if not await repository.add(notification):
        return
    due, devices = now, await repository.devices_of(user_id)
    if category is Category.MARKETING:
        preferences = await repository.preferences_of(user_id)
        due = next_allowed(preferences, now)
        devices = devices if preferences.marketing_push else []
    await repository.add_deliveries(notification.id, devices, due, now)


async def on_password_reset_requested(
    envelope: Envelope,
    session: AsyncSession,
    templates: Renderer,
    public_base_url: str,
    clock: Clock = utcnow,
) -> None:
    """Consumes `identity.password_reset.requested`: the link, emailed in the user's language.
    Transactional: it goes whatever the user's preferences, and never to the inbox (the link
    is a credential)."""
    requested = PasswordResetRequested()
    envelope.data.Unpack(requested)
    (user_id,) = parse_uuid_ids(
        requested.user, ("users",), field="user", message_key="user.invalid_name"
    )
    language = _locale(requested.language_code)
    query = urlencode({"token": requested.token})
    rendered = templates.render(
        "password_reset",
        PASSWORD_RESET_TEMPLATE,
        language,
        {
            "link": f"{public_base_url.rstrip('/')}/password-reset?{query}",
            "expire_time": requested.expire_time.ToDatetime(UTC).strftime("%Y-%m-%d %H:%M"),
        },
    )
    now = clock()
    email = Email(
        notification_id(envelope.id, user_id),
        user_id,
        requested.email,
        language,
        rendered.subject,
        rendered.text,
        rendered.html,
        DeliveryState.PENDING,
        0,
        now,
    )
    await EmailRepository(session).add(email, now)


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
                outcome = SendOutcome.RETRY
            await _settle(new_uow(), delivery, outcome, clock())
        handled += len(claimed)
    return handled


async def send_due_emails(
    new_uow: Callable[[], NotificationsUnitOfWork], mailer: Mailer, clock: Clock = utcnow
) -> int:
    """Sends every email due now, a batch at a time; how many it sent or settled."""
    handled = 0
    while claimed := await _claim_emails(new_uow(), clock()):
        for email in claimed:
            outcome = await mailer.send(email)
            now = clock()
            settled = {
                SendOutcome.SENT: replace(email, state=DeliveryState.SENT),
                SendOutcome.RETRY: retried(email, now),
            }.get(outcome, replace(email, state=DeliveryState.FAILED))
            uow = new_uow()
            async with uow:
                await uow.emails.save(settled, now)
                await uow.commit()
        handled += len(claimed)
    return handled


async def _claim_emails(uow: NotificationsUnitOfWork, now: datetime) -> list[Email]:
    async with uow:
        claimed = await uow.emails.claim_due(now, SEND_BATCH)
        await uow.commit()
    return claimed


async def _claim(
    uow: NotificationsUnitOfWork, now: datetime
) -> list[tuple[Delivery, Notification]]:
    async with uow:
        claimed = await uow.notifications.claim_due(now, SEND_BATCH)
        await uow.commit()
    return claimed


async def _settle(
    uow: NotificationsUnitOfWork, delivery: Delivery, outcome: SendOutcome, now: datetime
) -> None:
    """Records how a push went; a token the provider says is dead is pruned."""
    settled = {
        SendOutcome.SENT: replace(delivery, state=DeliveryState.SENT),
        SendOutcome.DEAD_TOKEN: replace(delivery, state=DeliveryState.DEAD_TOKEN),
        SendOutcome.REFUSED: replace(delivery, state=DeliveryState.FAILED),
        SendOutcome.RETRY: retried(delivery, now),
    }[outcome]
    async with uow:
        await uow.notifications.save_delivery(settled, now)
        if outcome is SendOutcome.DEAD_TOKEN:
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


PREFERENCE_FIELDS = frozenset(
    {
        "time_zone",
        "quiet_hours_start",
        "quiet_hours_end",
        "marketing_push",
        "marketing_email",
    }
)


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
    unknown = sorted(set(changes) - PREFERENCE_FIELDS)
    if unknown:
        raise InvalidArgument(
            [FieldViolation("update_mask", "preferences.unknown_field", {"field": unknown[0]})]
        )
    async with uow:
        current = await uow.notifications.preferences_of(user_id)
        merged = {**preference_fields(current), **changes}
        updated = validate_preferences(
            user_id,
            str(merged["time_zone"]),
            str(merged["quiet_hours_start"]),
            str(merged["quiet_hours_end"]),
            bool(merged["marketing_push"]),
            bool(merged["marketing_email"]),
        )
        await uow.notifications.save_preferences(updated, clock())
        await uow.commit()
    return updated


def preference_fields(preferences: Preferences) -> dict[str, str | bool]:
    def clock_time(moment: time | None) -> str:
        return moment.strftime("%H:%M") if moment else ""

    return {
        "time_zone": preferences.time_zone,
        "quiet_hours_start": clock_time(preferences.quiet_start),
        "quiet_hours_end": clock_time(preferences.quiet_end),
        "marketing_push": preferences.marketing_push,
        "marketing_email": preferences.marketing_email,
    }
