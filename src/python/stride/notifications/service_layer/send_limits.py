"""Counting sends against the limits (`domain.limits`), in the caller's unit of work: each
count is taken, atomically, before what it limits is queued or sent, and stays counted when
the send is refused, so retrying past a cap gains nothing."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from stride.notifications.domain.limits import (
    address_emails,
    day_window,
    hour_window,
    member_phone_codes,
    member_texts,
    number_phone_codes,
    number_texts,
)
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork

_log = logging.getLogger("stride.notifications.limits")


async def text_allowed(
    uow: NotificationsUnitOfWork, user_id: uuid.UUID, number: str, now: datetime
) -> bool:
    """Whether one more text may go to the member's `number` today: within the member's daily
    cap, then the number's (a number shared by accounts is capped once). The number's count
    grows only with texts its members were allowed, so one member over their cap does not
    use up another's share."""
    day, limits = day_window(now), uow.limits
    allowed = (
        await uow.send_counts.count(member_texts(user_id), day) <= limits.texts_per_member_per_day
        and await uow.send_counts.count(number_texts(number), day)
        <= limits.texts_per_number_per_day
    )
    if not allowed:
        _log.warning("text not sent: over the day's cap", extra={"user": str(user_id)})
    return allowed


async def phone_code_refused_until(
    uow: NotificationsUnitOfWork, user_id: uuid.UUID, number: str, now: datetime
) -> datetime | None:
    """When the member may ask for a code to `number` again, if not now: within the member's
    hourly codes, their daily texts, and the number's daily codes, each counted only once the
    one before allowed it."""
    hour, day, limits = hour_window(now), day_window(now), uow.limits
    if (
        await uow.send_counts.count(member_phone_codes(user_id), hour)
        > limits.phone_codes_per_member_per_hour
    ):
        return hour + timedelta(hours=1)
    if await uow.send_counts.count(member_texts(user_id), day) > limits.texts_per_member_per_day:
        return day + timedelta(days=1)
    if (
        await uow.send_counts.count(number_phone_codes(number), day)
        > limits.phone_codes_per_number_per_day
    ):
        return day + timedelta(days=1)
    return None


async def account_email_allowed(
    uow: NotificationsUnitOfWork, user_id: uuid.UUID, address: str, now: datetime
) -> bool:
    """Whether one more of Identity's emails may go to `address` this hour."""
    sent = await uow.send_counts.count(address_emails(address), hour_window(now))
    allowed = sent <= uow.limits.account_emails_per_address_per_hour
    if not allowed:
        _log.warning(
            "account email not sent: over the address's hourly cap", extra={"user": str(user_id)}
        )
    return allowed
