"""What members are told, as pure rules: notifications for the inbox, the devices that receive
them by push, each push delivery, and emails.

A notification is one logical message to one user about one event: its id follows from the
event's id and the user's, so an event delivered twice is the same notification, stored once.
Each of the user's devices then gets one delivery. Deliveries happen at most once: one is
claimed (SENDING) and committed before the provider is called, and a claimed delivery is never
claimed again — a crash between the two loses that push rather than sending it twice. Only an
answer saying the provider did not take it (RETRY) puts it back in line.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument

_NOTIFICATIONS = uuid.UUID("3c0f6a1e-8d52-4b7e-9a41-2f6d0c8e5b19")
_DEVICES = uuid.UUID("a7e2c5d0-1b94-4f3a-8c6e-5d0b9f2a7e31")
# FCM registration tokens are about 160 ASCII characters; a unique index holds at most ~2.7 KB
# a row, so far longer tokens could never be stored.
MAX_TOKEN_LENGTH = 1024
RETRY_DELAYS = (timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=5))


class Platform(enum.Enum):
    ANDROID = "android"
    IOS = "ios"


class DeliveryState(enum.Enum):
    PENDING = "pending"
    SENDING = "sending"  # Claimed: never sent again, whatever happens next.
    SENT = "sent"
    FAILED = "failed"  # Refused by the provider, or still unavailable after every retry.
    DEAD_TOKEN = "dead_token"  # noqa: S105 - a state: the app left the device, token pruned.
    CANCELLED = "cancelled"  # Its campaign was cancelled before it went.


class SendOutcome(enum.Enum):
    """What a provider (push, email) said to one message."""

    SENT = "sent"
    # The app was uninstalled or the token expired: prune it.
    DEAD_TOKEN = "dead_token"  # noqa: S105 - an outcome, not a credential.
    RETRY = "retry"  # Not taken (busy, unavailable, unreachable): try again later.
    REFUSED = "refused"  # Never retried.


@dataclass(frozen=True)
class Notification:
    id: uuid.UUID
    user_id: uuid.UUID
    kind: str  # e.g. `waitlist.promoted`
    subject: str  # What it is about, for the app to open.
    title: str
    body: str
    created: datetime
    read: datetime | None = None
    marketing: bool = False

    @property
    def resource_name(self) -> str:
        return f"users/{self.user_id}/notifications/{self.id}"


def notification_id(event_id: str, user_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NOTIFICATIONS, f"{event_id}/{user_id}")


@dataclass(frozen=True)
class Device:
    id: uuid.UUID
    user_id: uuid.UUID
    token: str  # FCM's registration token.
    platform: Platform
    created: datetime

    @property
    def resource_name(self) -> str:
        return f"users/{self.user_id}/devices/{self.id}"


def register_device(
    user_id: uuid.UUID, token: str, platform: Platform | None, now: datetime
) -> Device:
    """A device is its token: registering the same token again is the same device, and it
    belongs to whoever registered it last (a phone handed on, a different account)."""
    violations = []
    if (
        not token.strip()
        or len(token) > MAX_TOKEN_LENGTH
        or not token.isascii()
        or any(c.isspace() for c in token)
    ):
        violations.append(FieldViolation("device.token", "device.invalid_token"))
    if platform is None:
        violations.append(FieldViolation("device.platform", "field.required"))
    if violations or platform is None:
        raise InvalidArgument(violations)
    return Device(uuid.uuid5(_DEVICES, token), user_id, token, platform, now)


@dataclass(frozen=True)
class Delivery:
    notification_id: uuid.UUID
    device_id: uuid.UUID
    token: str
    state: DeliveryState
    attempts: int
    next_attempt: datetime


@dataclass(frozen=True)
class Email:
    """One email to one address, rendered when the event arrived."""

    id: uuid.UUID  # notification_id(event, user): an event emails a user once.
    user_id: uuid.UUID
    to: str
    language: str
    subject: str
    text: str
    html: str
    state: DeliveryState
    attempts: int
    next_attempt: datetime
    # For marketing: where the reader's mail app unsubscribes with one click (RFC 8058).
    unsubscribe_url: str = ""


@dataclass(frozen=True)
class Sms:
    """One text message to one phone, for a transactional notification."""

    id: uuid.UUID  # The notification's id: a notification texts a user once.
    user_id: uuid.UUID
    to: str  # E.164, e.g. +966501234567.
    body: str
    state: DeliveryState
    attempts: int
    next_attempt: datetime


Sendable = TypeVar("Sendable", Delivery, Email, Sms)

# The target of an email or a text: its notification has one address and one phone.
EMAIL_TARGET = "email"
SMS_TARGET = "sms"


class Channel(enum.Enum):
    PUSH = "push"
    EMAIL = "email"
    SMS = "sms"


@dataclass(frozen=True)
class Attempt:
    """One try at sending: the delivery log keeps every one."""

    notification_id: uuid.UUID
    target: str  # The device's id for a push; EMAIL_TARGET or SMS_TARGET.
    channel: Channel
    number: int  # 1 for the first try.
    outcome: SendOutcome
    at: datetime


def attempt_of(sent: Delivery | Email | Sms, outcome: SendOutcome, at: datetime) -> Attempt:
    number = sent.attempts + 1
    if isinstance(sent, Delivery):
        target = str(sent.device_id)
        return Attempt(sent.notification_id, target, Channel.PUSH, number, outcome, at)
    if isinstance(sent, Email):
        return Attempt(sent.id, EMAIL_TARGET, Channel.EMAIL, number, outcome, at)
    return Attempt(sent.id, SMS_TARGET, Channel.SMS, number, outcome, at)


@dataclass(frozen=True)
class DeliveryStatus:
    """How one delivery of a notification stands, with every attempt so far."""

    user_id: uuid.UUID
    notification_id: uuid.UUID
    target: str
    channel: Channel
    state: DeliveryState
    attempts: int  # Failed tries so far.
    next_attempt: datetime
    updated: datetime
    log: tuple[Attempt, ...] = ()

    @property
    def resource_name(self) -> str:
        return f"users/{self.user_id}/notifications/{self.notification_id}/deliveries/{self.target}"


def settled(sent: Sendable, outcome: SendOutcome, now: datetime) -> Sendable:
    """A push or email after the provider's answer: a dead letter (FAILED) once refused or
    out of retries."""
    match outcome:  # Builds only the answer's: a campaign settles thousands a second.
        case SendOutcome.SENT:
            return replace(sent, state=DeliveryState.SENT)
        case SendOutcome.DEAD_TOKEN:
            return replace(sent, state=DeliveryState.DEAD_TOKEN)
        case SendOutcome.REFUSED:
            return replace(sent, state=DeliveryState.FAILED)
        case SendOutcome.RETRY:
            return retried(sent, now)


def redriven(status: DeliveryStatus, now: datetime) -> DeliveryStatus:
    """A dead letter back in line, with its retries afresh (a provider outage is over, a
    mailbox was fixed). Only failed deliveries: a dead token's device is gone."""
    if status.state is not DeliveryState.FAILED:
        raise FailedPrecondition("DELIVERY_NOT_FAILED", "delivery.not_failed")
    return replace(status, state=DeliveryState.PENDING, attempts=0, next_attempt=now)


def retried(delivery: Sendable, now: datetime) -> Sendable:
    """The provider did not take it: in line again after a delay, or failed after the last."""
    attempts = delivery.attempts + 1
    if attempts > len(RETRY_DELAYS):
        return replace(delivery, state=DeliveryState.FAILED, attempts=attempts)
    return replace(
        delivery,
        state=DeliveryState.PENDING,
        attempts=attempts,
        next_attempt=now + RETRY_DELAYS[attempts - 1],
    )
