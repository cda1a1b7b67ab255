"""Sending what the events left behind: pushes, emails, texts and due class reminders. Each
push, email or text is claimed (and the claim committed) before its provider is called, so none goes
twice, even across a crash (see `domain.notifications`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from stride.notifications.adapters.fcm_push import FcmAuthError
from stride.notifications.domain.notifications import (
    Delivery,
    DeliveryState,
    Email,
    Notification,
    SendOutcome,
    Sms,
    attempt_of,
    settled,
)
from stride.notifications.service_layer.events import local_time, notify
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.clock import Clock, utcnow

SEND_BATCH = 500  # Claimed per transaction; a batch of pushes is in flight together.
_log = logging.getLogger("stride.notifications.sending")


class Push(Protocol):
    """A push provider (FCM's adapter implements it)."""

    async def send(self, token: str, title: str, body: str, data: Mapping[str, str]) -> SendOutcome:
        ...


class Mailer(Protocol):
    """An email provider (the SMTP adapter implements it)."""

    async def send(self, email: Email) -> SendOutcome:
        ...


class Texter(Protocol):
    """A text message provider (Twilio's adapter implements it)."""

    async def send(self, sms: Sms) -> SendOutcome:
        ...


Message = TypeVar("Message", Email, Sms)


class Outbox(Protocol[Message]):
    """Where messages to one address wait (the email and text repositories)."""

    async def claim_due(self, now: datetime, limit: int) -> list[Message]:
        ...

    async def save(self, message: Message, now: datetime) -> None:
        ...


async def send_due(
    new_uow: Callable[[], NotificationsUnitOfWork],
    push: Push,
    clock: Clock = utcnow,
    batch: int = SEND_BATCH,
) -> int:
    """Sends every push due now, a batch at a time (the batch's requests in flight together);
    how many it sent or settled. A batch is settled in the transaction that claims the next
    one, so each batch costs one commit; the claim is still committed before its pushes go."""
    handled = 0
    claimed = await _settle_and_claim(new_uow(), [], clock(), batch)
    while claimed:
        outcomes = await asyncio.gather(
            *(_push(push, delivery, notification) for delivery, notification in claimed)
        )
        answers = [
            (delivery, outcome) for (delivery, _), outcome in zip(claimed, outcomes, strict=True)
        ]
        handled += len(claimed)
        claimed = await _settle_and_claim(new_uow(), answers, clock(), batch)
    return handled


async def _push(push: Push, delivery: Delivery, notification: Notification) -> SendOutcome:
    try:
        return await push.send(
            delivery.token,
            notification.title,
            notification.body,
            {"notification": notification.resource_name, "subject": notification.subject},
        )
    except FcmAuthError:  # Nothing was sent: back in line until the key is fixed.
        _log.exception("push credentials refused")
        return SendOutcome.RETRY


async def _settle_and_claim(
    uow: NotificationsUnitOfWork,
    answers: Sequence[tuple[Delivery, SendOutcome]],
    now: datetime,
    batch: int,
) -> list[tuple[Delivery, Notification]]:
    """Records how a batch of pushes went, and each attempt in the delivery log (tokens the
    provider says are dead are pruned), then claims the next batch due."""
    after = [settled(delivery, outcome, now) for delivery, outcome in answers]
    async with uow:
        await uow.notifications.save_deliveries(after, now)
        await uow.deliveries.log([attempt_of(d, outcome, now) for d, outcome in answers])
        await uow.notifications.delete_devices(
            [d.device_id for d, outcome in answers if outcome is SendOutcome.DEAD_TOKEN]
        )
        claimed = await uow.notifications.claim_due(now, batch)
        await uow.commit()
    for delivery in after:
        if delivery.state is DeliveryState.FAILED:
            _log.warning("push failed", extra={"attempts": delivery.attempts})
    return claimed


async def send_due_emails(
    new_uow: Callable[[], NotificationsUnitOfWork], mailer: Mailer, clock: Clock = utcnow
) -> int:
    """Sends every email due now; how many it sent or settled."""
    return await _send_each(new_uow, lambda uow: uow.emails, mailer.send, clock)


async def send_due_texts(
    new_uow: Callable[[], NotificationsUnitOfWork], texter: Texter, clock: Clock = utcnow
) -> int:
    """Sends every text message due now; how many it sent or settled."""
    return await _send_each(new_uow, lambda uow: uow.texts, texter.send, clock)


async def _send_each(
    new_uow: Callable[[], NotificationsUnitOfWork],
    outbox: Callable[[NotificationsUnitOfWork], Outbox[Message]],
    send: Callable[[Message], Awaitable[SendOutcome]],
    clock: Clock,
) -> int:
    """Claims a batch, then sends its messages one at a time (SMTP sessions and SMS APIs are
    slow to open and quick to throttle), settling and logging each."""
    handled = 0
    while True:
        uow = new_uow()
        async with uow:
            claimed = await outbox(uow).claim_due(clock(), SEND_BATCH)
            await uow.commit()
        if not claimed:
            return handled
        for message in claimed:
            outcome = await send(message)
            now = clock()
            uow = new_uow()
            async with uow:
                await outbox(uow).save(settled(message, outcome, now), now)
                await uow.deliveries.log([attempt_of(message, outcome, now)])
                await uow.commit()
        handled += len(claimed)


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
                await notify(
                    uow,
                    reminder.event_id,
                    reminder.user_id,
                    "class.reminder",
                    reminder.booking,
                    now,
                    values=await local_time(
                        uow.notifications, reminder.user_id, reminder.class_start
                    ),
                )
            await uow.commit()
        if not due:
            return sent
        sent += len(due)
