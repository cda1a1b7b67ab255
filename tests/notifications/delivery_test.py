"""Notifications end to end over real NATS JetStream and Postgres: a waitlist promotion reaches
the member's device (a local FCM server) and inbox once, and a password-reset email reaches a
real SMTP server (aiosmtpd) once, in the user's language — each event delivered twice and the
service restarted between the copies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import nats
import pytest
import pytest_asyncio
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import SecretStr
from sqlalchemy import text

from notifications.support import (
    DATA_KEY_SPEC,
    EVENT_SECRET_KEY_SPEC,
    EVENT_SECRETS,
    Mailbox,
    lives_in,
    password_reset,
    with_verified_number,
)
from stack.fcm import PROJECT_ID, FcmServer
from stack.twilio import ACCOUNT_SID, SENDER, running_twilio
from stride.activity.events.v1.events_pb2 import StreakChanged
from stride.billing.events.v1.events_pb2 import PaymentChanged, SubscriptionChanged
from stride.events.v1.envelope_pb2 import Envelope
from stride.events.v1.sealed_secret_pb2 import SealedSecret
from stride.identity.events.v1.events_pb2 import (
    UserEmailChanged,
    UserEmailChangeRequested,
    UserEmailChangeReverted,
    UserEmailReuseAttempted,
    UserEmailVerificationRequested,
    UserRegistered,
)
from stride.notifications.adapters.delivery_log_repository import DeliveryFilter
from stride.notifications.adapters.fcm_push import FcmPush, ServiceAccount
from stride.notifications.adapters.smtp_email import SmtpEmail
from stride.notifications.adapters.templates import Templates
from stride.notifications.adapters.twilio_sms import TwilioSms
from stride.notifications.config import NotificationsSettings
from stride.notifications.domain.notifications import (
    RETRY_DELAYS,
    SMS_TARGET,
    Channel,
    DeliveryState,
    Email,
    Notification,
    Platform,
    SendOutcome,
    notification_id,
)
from stride.notifications.domain.preferences import Category
from stride.notifications.domain.reminders import REMINDER_LEAD
from stride.notifications.main import build_app
from stride.notifications.service_layer import deliveries, events, members, sending
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import FailedPrecondition
from stride.platform.events.envelope import make_envelope, nats_subject
from stride.platform.events.outbox import ensure_stream
from stride.platform.events.secrets import seal_secret
from stride.platform.grpc.server import start
from stride.platform.i18n import CATALOG
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually
from stride.scheduling.events.v1.events_pb2 import BookingChanged, ClassChanged


@pytest_asyncio.fixture(scope="module")
async def js(nats_url: str, event_prefix: str) -> AsyncIterator[nats.js.JetStreamContext]:
    connection = await nats.connect(nats_url)
    context = connection.jetstream()
    for source in ("identity", "scheduling", "billing"):
        await ensure_stream(context, event_prefix, source)
    yield context
    await connection.close()


@pytest.fixture(scope="module")
def settings(
    database_url: str,
    nats_url: str,
    event_prefix: str,
    fcm: FcmServer,
    smtp: tuple[Mailbox, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> NotificationsSettings:
    key_file = tmp_path_factory.mktemp("fcm") / "service-account.json"
    key_file.write_text(fcm.key_json)
    return NotificationsSettings(
        database_url=database_url,
        nats_url=nats_url,
        events_prefix=event_prefix,
        grpc_port=free_port(),
        fcm_project_id=PROJECT_ID,
        fcm_service_account_file=Path(key_file),
        fcm_api_base=fcm.api_base,
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        public_base_url="https://edge.stride.test",
        send_every_seconds=0.1,
        shutdown_grace_seconds=1,
        data_keys=DATA_KEY_SPEC,
        data_key_active="test",
        event_secret_keys=SecretStr(EVENT_SECRET_KEY_SPEC),
        event_secret_key_active="events",
    )


@asynccontextmanager
async def running(settings: NotificationsSettings) -> AsyncIterator[None]:
    """The service, up for the block and stopped after it."""
    service = await start(await build_app(settings))
    try:
        yield
    finally:
        await service.stop()


async def publish(js: nats.js.JetStreamContext, prefix: str, event: Envelope, copy: str) -> None:
    """One copy of the event on the stream; a relay that crashed after publishing, outside the
    duplicate window, sends another with a different message id."""
    await js.publish(
        nats_subject(prefix, event.type),
        event.SerializeToString(),
        headers={"Nats-Msg-Id": f"{event.id}-{copy}"},
    )


ADMIN = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))


def promotion(member: uuid.UUID, booking: str) -> Envelope:
    changed = BookingChanged(booking=f"users/{member}/bookings/{booking}", member=f"users/{member}")
    return make_envelope(
        source="scheduling",
        event_type="scheduling.waitlist.promoted.v1",
        subject=changed.booking,
        payload=changed,
    )


async def test_a_promotion_reaches_the_device_and_inbox_once_across_a_restart(
    settings: NotificationsSettings,
    new_uow: partial[NotificationsUnitOfWork],
    js: nats.js.JetStreamContext,
    event_prefix: str,
    fcm: FcmServer,
) -> None:
    member = uuid.uuid4()
    token = f"fcm-{uuid.uuid4().hex}"
    registered = make_envelope(
        source="identity",
        event_type="identity.user.registered.v1",
        subject=f"users/{member}",
        payload=UserRegistered(user=f"users/{member}", email="m@example.com", language_code="ar"),
    )
    # A later promotion, handled by the same consumer after the second copy of the first.
    promoted, later = promotion(member, "b1"), promotion(member, "b2")
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        await members.register(new_uow(), member, token, Platform.ANDROID)

    def pushes() -> list[dict[str, object]]:
        return [message for message in fcm.messages if message["token"] == token]

    async def one_push() -> bool:
        return len(pushes()) == 1

    async def addressed_in_arabic() -> bool:
        async with new_uow() as uow:
            return await uow.notifications.language_of(member) == "ar"

    async def later_pushed() -> bool:
        """The later promotion's push went out, and so did every push of its batch (a batch is
        settled once all its requests are answered)."""
        sent = DeliveryFilter(
            notification_id=notification_id(later.id, member), state=DeliveryState.SENT
        )
        with authenticated_as(ADMIN):
            return bool(await deliveries.list_deliveries(new_uow(), sent, 0, 10))

    async with running(settings):
        await publish(js, event_prefix, registered, "a")
        await eventually(addressed_in_arabic)  # The address book first, so the push is in Arabic.
        await publish(js, event_prefix, promoted, "a")
        await eventually(one_push)
    async with running(settings):
        await publish(js, event_prefix, promoted, "b")
        await publish(js, event_prefix, later, "a")
        await eventually(later_pushed)

    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        inbox = await members.inbox(new_uow(), member, 0, 10)
    assert sorted(n.subject for n in inbox) == [promoted.subject, later.subject]
    first_push, *later_pushes = pushes()
    assert len(later_pushes) == 1  # The later promotion's: none for the second copy.
    (notification,) = [n for n in inbox if n.subject == promoted.subject]
    assert first_push["notification"] == {"title": notification.title, "body": notification.body}
    assert notification.title == "تم تأكيد حجزك!"


async def promoted_with_a_dead_token(
    new_uow: partial[NotificationsUnitOfWork],
    fcm: FcmServer,
    event_id: str,
    tokens: list[str],
    now: datetime,
) -> uuid.UUID:
    """A member with a device per token is promoted from a waitlist at `now`: the first token
    is an uninstalled app's, and FCM is unavailable for whichever push goes first."""
    member = uuid.uuid4()
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        for token in tokens:
            await members.register(new_uow(), member, token, Platform.IOS)
    fcm.dead_tokens.add(tokens[0])
    fcm.fail_next(1)
    uow = new_uow()
    async with uow:
        await events.notify(uow, event_id, member, "waitlist.promoted", "s", now)
        await uow.commit()
    return member


async def test_dead_tokens_are_pruned_and_an_unavailable_provider_is_retried(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer
) -> None:
    dead, alive = (f"fcm-{uuid.uuid4().hex}" for _ in range(2))
    now = datetime.now(UTC)
    member = await promoted_with_a_dead_token(new_uow, fcm, "event-1", [dead, alive], now)
    push = FcmPush(fcm.api_base, PROJECT_ID, ServiceAccount.from_json(fcm.key_json))
    try:
        await sending.send_due(new_uow, push, clock=lambda: now)
        await sending.send_due(new_uow, push, clock=lambda: now + RETRY_DELAYS[0])
    finally:
        await push.close()

    async with new_uow() as uow:
        remaining = await uow.notifications.devices_of(member)
    assert [message["token"] for message in fcm.messages].count(alive) == 1
    assert [device.token for device in remaining] == [alive]


async def test_pushes_sent_over_several_batches_are_each_settled_and_logged_once(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer
) -> None:
    """A batch is settled in the transaction that claims the next one: across batches every
    push goes once, each answer lands on its own delivery and in the log, the push FCM was
    too busy for goes on the retry, and a dead token among them is pruned."""
    tokens = [f"fcm-{uuid.uuid4().hex}" for _ in range(7)]
    now = datetime.now(UTC)
    member = await promoted_with_a_dead_token(new_uow, fcm, "event-batches", tokens, now)
    push = FcmPush(fcm.api_base, PROJECT_ID, ServiceAccount.from_json(fcm.key_json))
    try:
        await sending.send_due(new_uow, push, clock=lambda: now, batch=3)
        await sending.send_due(new_uow, push, clock=lambda: now + RETRY_DELAYS[0], batch=3)
    finally:
        await push.close()

    of_it = DeliveryFilter(notification_id=notification_id("event-batches", member))
    with authenticated_as(ADMIN):
        statuses = await deliveries.list_deliveries(new_uow(), of_it, 0, 10)
    async with new_uow() as uow:
        remaining = await uow.notifications.devices_of(member)
    assert sorted(status.state.value for status in statuses) == ["dead_token", *["sent"] * 6]
    assert sorted(len(status.log) for status in statuses) == [*[1] * 6, 2]
    pushed = [message["token"] for message in fcm.messages if message["token"] in tokens]
    assert sorted(pushed) == sorted(tokens[1:])  # Each live device once.
    assert sorted(device.token for device in remaining) == sorted(tokens[1:])


async def test_a_password_reset_email_arrives_once_in_the_user_s_language(
    settings: NotificationsSettings,
    js: nats.js.JetStreamContext,
    event_prefix: str,
    smtp: tuple[Mailbox, int],
) -> None:
    mailbox, _ = smtp
    user, address, token = uuid.uuid4(), f"{uuid.uuid4().hex}@example.com", "tok_Z9-x"
    event = password_reset(user, address, token)
    # Another user's reset, later: the same consumer handles it after the second copy, and the
    # sender mails it after anything that copy would have left to send.
    later_address = f"{uuid.uuid4().hex}@example.com"
    later = password_reset(uuid.uuid4(), later_address, "tok_later")

    def received(to: str) -> list[EmailMessage]:
        return [message for message in mailbox.messages if message["To"] == to]

    async def one_email() -> bool:
        return len(received(address)) == 1

    async def later_email() -> bool:
        return bool(received(later_address))

    async with running(settings):
        await publish(js, event_prefix, event, "a")
        await eventually(one_email)
    async with running(settings):
        await publish(js, event_prefix, event, "b")
        await publish(js, event_prefix, later, "a")
        await eventually(later_email)

    (email,) = received(address)
    text = cast(EmailMessage, email.get_body(("plain",))).get_content()
    html = cast(EmailMessage, email.get_body(("html",))).get_content()
    link = f"https://edge.stride.test/password-reset?token={token}"
    assert (email["Subject"], email["Content-Language"]) == ("إعادة تعيين كلمة مرور Stride", "ar")
    assert link in text
    assert "2027-01-02 03:04" in text
    assert 'dir="rtl"' in html
    assert f'href="{link}"' in html


CATALOG.register(
    {
        "notification.test_offer.title": {"en": "An offer", "ar": "عرض"},
        "notification.test_offer.body": {"en": "Ten percent off.", "ar": "خصم عشرة في المئة."},
    }
)


async def test_quiet_hours_defer_a_marketing_push_and_a_transactional_one_goes_now(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer
) -> None:
    member, opted_out = uuid.uuid4(), uuid.uuid4()
    tokens = {user: f"fcm-{uuid.uuid4().hex}" for user in (member, opted_out)}
    for user, token in tokens.items():
        await lives_in(new_uow, user, "Asia/Riyadh")
        with authenticated_as(Principal(user_id=str(user), roles=frozenset({"member"}))):
            await members.register(new_uow(), user, token, Platform.ANDROID)
            await members.update_preferences(
                new_uow(),
                user,
                {
                    "quiet_hours_start": "22:00",
                    "quiet_hours_end": "07:00",
                    "marketing_push": user == member,
                },
            )
    riyadh = ZoneInfo("Asia/Riyadh")
    late, morning = datetime(2027, 3, 1, 23, 30, tzinfo=riyadh), datetime(
        2027, 3, 2, 7, tzinfo=riyadh
    )
    uow = new_uow()
    async with uow:
        for user in (member, opted_out):
            await events.notify(uow, "offer-1", user, "test.offer", "s", late, Category.MARKETING)
        await events.notify(uow, "promo-1", member, "waitlist.promoted", "s", late)
        await uow.commit()

    def titles(user: uuid.UUID) -> list[object]:
        return [m["notification"]["title"] for m in fcm.messages if m["token"] == tokens[user]]

    push = FcmPush(fcm.api_base, PROJECT_ID, ServiceAccount.from_json(fcm.key_json))
    try:
        await sending.send_due(new_uow, push, clock=lambda: late)
        at_night = titles(member)
        await sending.send_due(new_uow, push, clock=lambda: morning - timedelta(minutes=1))
        await sending.send_due(new_uow, push, clock=lambda: morning)
    finally:
        await push.close()

    assert at_night == ["You're in!"]
    assert titles(member) == ["You're in!", "An offer"]
    assert titles(opted_out) == []  # Marketing by push is off until the user opts in.
    with authenticated_as(Principal(user_id=str(opted_out), roles=frozenset({"member"}))):
        (in_inbox,) = await members.inbox(new_uow(), opted_out, 0, 10)
    assert in_inbox.kind == "test.offer"


async def test_a_streak_push_waits_for_the_end_of_quiet_hours_and_goes_once_in_arabic(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer
) -> None:
    member, token = uuid.uuid4(), f"fcm-{uuid.uuid4().hex}"
    await lives_in(new_uow, member, "Asia/Riyadh", language="ar")
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        await members.register(new_uow(), member, token, Platform.ANDROID)
        await members.update_preferences(
            new_uow(), member, {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}
        )
    riyadh = ZoneInfo("Asia/Riyadh")
    late, morning = datetime(2027, 3, 1, 23, 30, tzinfo=riyadh), datetime(
        2027, 3, 2, 7, tzinfo=riyadh
    )
    extended = StreakChanged(member=f"users/{member}", days=5, longest_days=5)
    event = make_envelope(
        source="activity",
        event_type="activity.streak.extended.v1",
        subject=extended.member,
        payload=extended,
    )
    for _ in range(2):  # Delivered twice.
        async with new_uow() as uow:
            await events.on_streak_changed(event, uow, clock=lambda: late)
            await uow.commit()

    def pushed() -> list[dict[str, str]]:
        return [m["notification"] for m in fcm.messages if m["token"] == token]

    push = FcmPush(fcm.api_base, PROJECT_ID, ServiceAccount.from_json(fcm.key_json))
    try:
        await sending.send_due(new_uow, push, clock=lambda: late)
        at_night = pushed()
        await sending.send_due(new_uow, push, clock=lambda: morning)
    finally:
        await push.close()
    assert at_night == []
    assert pushed() == [
        {"title": "5 أيام متتالية!", "body": "تمرّنت 5 أيام متتالية. واصل على هذا النحو."}
    ]


async def test_a_class_reminder_follows_its_booking_and_its_class(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    riyadh = ZoneInfo("Asia/Riyadh")
    member, cancelling = uuid.uuid4(), uuid.uuid4()
    session = f"studios/olaya/classSessions/{uuid.uuid4()}"
    start = datetime(2027, 5, 10, 18, tzinfo=riyadh)
    await lives_in(new_uow, member, "Asia/Riyadh")

    def booking(kind: str, user: uuid.UUID) -> Envelope:
        changed = BookingChanged(
            booking=f"users/{user}/bookings/b1", member=f"users/{user}", class_session=session
        )
        changed.class_start_time.FromDatetime(start)
        return make_envelope(
            source="scheduling", event_type=kind, subject=changed.booking, payload=changed
        )

    async def consume(handler: Callable[..., Awaitable[None]], event: Envelope) -> None:
        uow = new_uow()
        async with uow:
            await handler(event, uow, clock=lambda: start - timedelta(days=3))
            await uow.commit()

    await consume(events.on_booking_confirmed, booking("scheduling.booking.confirmed.v1", member))
    await consume(
        events.on_booking_confirmed, booking("scheduling.booking.confirmed.v1", cancelling)
    )
    await consume(events.on_booking_ended, booking("scheduling.booking.cancelled.v1", cancelling))
    too_early = await sending.send_due_reminders(
        new_uow, clock=lambda: start - REMINDER_LEAD - timedelta(minutes=1)
    )
    moved = ClassChanged(class_session=session)
    moved.start_time.FromDatetime(start + timedelta(days=1))
    await consume(
        events.on_class_rescheduled,
        make_envelope(
            source="scheduling",
            event_type="scheduling.class.rescheduled.v1",
            subject=session,
            payload=moved,
        ),
    )
    at_old_time = await sending.send_due_reminders(new_uow, clock=lambda: start - REMINDER_LEAD)
    at_new_time = await sending.send_due_reminders(
        new_uow, clock=lambda: start + timedelta(days=1) - REMINDER_LEAD
    )

    assert (too_early, at_old_time, at_new_time) == (0, 0, 1)
    (reminder,) = await inbox_of(new_uow, member)
    assert await inbox_of(new_uow, cancelling) == []
    assert reminder.kind == "class.reminder"
    assert "18:00" in reminder.body  # The class's time on the member's clock.


async def inbox_of(
    new_uow: partial[NotificationsUnitOfWork], user: uuid.UUID
) -> list[Notification]:
    with authenticated_as(Principal(user_id=str(user), roles=frozenset({"member"}))):
        return await members.inbox(new_uow(), user, 0, 10)


async def test_marketing_pushes_are_capped_per_day_on_the_user_s_calendar(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer
) -> None:
    member, token = uuid.uuid4(), f"fcm-{uuid.uuid4().hex}"
    await lives_in(new_uow, member, "Asia/Riyadh")
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        await members.register(new_uow(), member, token, Platform.ANDROID)
        await members.update_preferences(new_uow(), member, {"marketing_push": True})
    riyadh = ZoneInfo("Asia/Riyadh")
    days = [datetime(2027, 4, 1, 12, tzinfo=riyadh), datetime(2027, 4, 2, 0, 30, tzinfo=riyadh)]
    offers = [(days[0] + timedelta(minutes=n), f"offer-{n}") for n in range(4)]
    uow = new_uow()
    async with uow:
        for moment, event in [*offers, (days[1], "next-day")]:
            await events.notify(uow, event, member, "test.offer", "s", moment, Category.MARKETING)
        await uow.commit()
    push = FcmPush(fcm.api_base, PROJECT_ID, ServiceAccount.from_json(fcm.key_json))
    try:
        await sending.send_due(new_uow, push, clock=lambda: days[1])
    finally:
        await push.close()

    assert sum(1 for message in fcm.messages if message["token"] == token) == 4  # 3 + 1.
    assert len(await inbox_of(new_uow, member)) == 5  # Every offer still reaches the inbox.


async def test_members_are_told_when_their_class_or_their_payments_go_wrong(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    riyadh = ZoneInfo("Asia/Riyadh")
    booked, waitlisted, renewing, buyer = (uuid.uuid4() for _ in range(4))
    for user in (booked, renewing):
        await lives_in(new_uow, user, "Asia/Riyadh")
    session = f"studios/olaya/classSessions/{uuid.uuid4()}"
    start = datetime(2027, 5, 10, 18, tzinfo=riyadh)
    cancelled = ClassChanged(
        class_session=session, members=[f"users/{booked}", f"users/{waitlisted}"]
    )
    cancelled.start_time.FromDatetime(start)
    past_due = SubscriptionChanged(subscription=f"users/{renewing}/subscriptions/s1")
    past_due.member = f"users/{renewing}"
    past_due.next_renewal_time.FromDatetime(datetime(2027, 5, 12, 23, tzinfo=UTC))
    renewal_failed = PaymentChanged(member=f"users/{renewing}", subscription=past_due.subscription)
    purchase_failed = PaymentChanged(member=f"users/{buyer}", purchase=f"users/{buyer}/purchases/p")

    async def consume(handler: Callable[..., Awaitable[None]], kind: str, payload: Any) -> None:
        event = make_envelope(
            source=kind.split(".")[0], event_type=kind, subject="s", payload=payload
        )
        uow = new_uow()
        async with uow:
            await handler(event, uow, clock=lambda: start - timedelta(days=3))
            await uow.commit()

    await consume(events.on_class_cancelled, "scheduling.class.cancelled.v1", cancelled)
    await consume(events.on_subscription_changed, "billing.subscription.past_due.v1", past_due)
    await consume(events.on_payment_failed, "billing.payment.failed.v1", renewal_failed)
    await consume(events.on_payment_failed, "billing.payment.failed.v1", purchase_failed)

    (told_booked,) = await inbox_of(new_uow, booked)
    (told_waitlisted,) = await inbox_of(new_uow, waitlisted)
    (told_renewing,) = await inbox_of(new_uow, renewing)  # Once: by past_due, not the payment.
    (told_buyer,) = await inbox_of(new_uow, buyer)
    assert (told_booked.kind, told_booked.subject) == ("class.cancelled", session)
    assert "2027-05-10 at 18:00" in told_booked.body  # On the member's clock.
    assert "2027-05-10 at 15:00" in told_waitlisted.body  # No zone set: UTC.
    assert told_renewing.kind == "subscription.past_due"
    assert "2027-05-13" in told_renewing.body  # 23:00 UTC is the next day in Riyadh.
    assert (told_buyer.kind, told_buyer.subject) == ("payment.failed", purchase_failed.purchase)


def frozen_at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


class PushDownFor:
    """A provider that does not take pushes to one token (busy), and takes the rest."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def send(self, token: str, title: str, body: str, data: Mapping[str, str]) -> SendOutcome:
        return SendOutcome.RETRY if token == self.token else SendOutcome.SENT


class MailboxRefusing:
    """An SMTP relay that refuses one user's mail for good (say, the mailbox does not exist)."""

    def __init__(self, user: uuid.UUID) -> None:
        self.user = user

    async def send(self, email: Email) -> SendOutcome:
        return SendOutcome.REFUSED if email.user_id == self.user else SendOutcome.SENT


async def test_a_delivery_out_of_retries_is_a_dead_letter_until_staff_retry_it(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    member, token = uuid.uuid4(), f"fcm-{uuid.uuid4().hex}"
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        await members.register(new_uow(), member, token, Platform.ANDROID)
    start = datetime(2027, 6, 1, 9, tzinfo=UTC)
    uow = new_uow()
    async with uow:
        await events.notify(uow, "dl-1", member, "waitlist.promoted", "s", start)
        await uow.emails.add(
            Email(
                notification_id("dl-2", member),
                member,
                "m@example.com",
                "en",
                *("subject", "text", "html"),
                DeliveryState.PENDING,
                0,
                start,
            ),
            start,
        )
        await uow.commit()
    moments = [start]
    for delay in RETRY_DELAYS:
        moments.append(moments[-1] + delay)
    for moment in moments:  # The first try and every retry find the provider busy.
        await sending.send_due(new_uow, PushDownFor(token), clock=frozen_at(moment))
    await sending.send_due_emails(new_uow, MailboxRefusing(member), clock=lambda: start)
    admin = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))
    failed = DeliveryFilter(user_id=member, state=DeliveryState.FAILED)
    with authenticated_as(admin):
        dead = await deliveries.list_deliveries(new_uow(), failed, 0, 10)
        (push,) = [letter for letter in dead if letter.channel is Channel.PUSH]
        await deliveries.retry_delivery(new_uow(), member, push.notification_id, push.target)
    await sending.send_due(new_uow, PushDownFor("nobody"), clock=lambda: datetime.now(UTC))
    with authenticated_as(admin):
        (after,) = await deliveries.list_deliveries(
            new_uow(), DeliveryFilter(notification_id=push.notification_id), 0, 10
        )
        with pytest.raises(FailedPrecondition):
            await deliveries.retry_delivery(new_uow(), member, push.notification_id, push.target)

    assert {letter.channel for letter in dead} == {Channel.PUSH, Channel.EMAIL}
    assert [(a.number, a.outcome) for a in push.log] == [
        (n, SendOutcome.RETRY) for n in range(1, 5)
    ]
    assert after.state is DeliveryState.SENT
    assert [a.outcome for a in after.log][-2:] == [SendOutcome.RETRY, SendOutcome.SENT]


async def test_transactional_messages_are_texted_to_members_who_verified_a_number(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    texted, untexted = uuid.uuid4(), uuid.uuid4()
    now = datetime(2027, 7, 1, 9, tzinfo=UTC)
    async with running_twilio() as twilio:
        await with_verified_number(new_uow, twilio, texted, "+966501234567", clock=lambda: now)
        with authenticated_as(Principal(user_id=str(texted), roles=frozenset({"member"}))):
            await members.update_preferences(new_uow(), texted, {"marketing_push": True})
        twilio.messages.clear()  # The verification code.
        uow = new_uow()
        async with uow:
            for user in (texted, untexted):
                await events.notify(uow, "tx-1", user, "waitlist.promoted", "s", now)
            await events.notify(uow, "offer-2", texted, "test.offer", "s", now, Category.MARKETING)
            await uow.commit()
        texter = TwilioSms(twilio.api_base, ACCOUNT_SID, twilio.auth_token, SENDER)
        try:
            sent = await sending.send_due_texts(new_uow, texter, clock=lambda: now)
        finally:
            await texter.close()
    admin = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))
    with authenticated_as(admin):
        (logged,) = await deliveries.list_deliveries(
            new_uow(), DeliveryFilter(user_id=texted, target=SMS_TARGET), 0, 10
        )

    assert sent == 1  # Marketing is never texted; no number, no text.
    (message,) = twilio.messages
    assert (message["to"], message["body"]) == (
        "+966501234567",
        "You're in!\nA spot opened up: your place on the waitlist is now a booking.",
    )
    assert (logged.channel, logged.state) == (Channel.SMS, DeliveryState.SENT)


async def test_identity_s_links_reach_the_right_address_and_an_address_change_is_told(
    new_uow: partial[NotificationsUnitOfWork], smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    user, old, new = uuid.uuid4(), f"{uuid.uuid4().hex}@example.com", f"{uuid.uuid4().hex}@x.org"
    mail = events.AccountEmails(Templates(), "https://edge.stride.test", EVENT_SECRETS)

    def sealed(token: str, event_type: str, to: str) -> SealedSecret:
        return seal_secret(
            EVENT_SECRETS, token, event_type=event_type, user=f"users/{user}", recipient=to
        )

    expires = Timestamp()
    expires.FromDatetime(datetime(2027, 1, 2, 3, 4, tzinfo=UTC))
    identity_events = [
        (
            events.on_user_registered,
            "identity.user.registered.v1",
            UserRegistered(
                user=f"users/{user}",
                email=old,
                display_name="Layla",
                language_code="ar",
                email_verification_expire_time=expires,
                sealed_email_verification_token=sealed(
                    "verify-1", "identity.user.registered.v1", old
                ),
            ),
        ),
        (
            events.on_email_change_requested,
            "identity.user.email_change_requested.v1",
            UserEmailChangeRequested(
                user=f"users/{user}",
                new_email=new,
                language_code="ar",
                expire_time=expires,
                sealed_token=sealed("change-1", "identity.user.email_change_requested.v1", new),
            ),
        ),
        (
            events.on_email_changed,
            "identity.user.email_changed.v1",
            UserEmailChanged(
                user=f"users/{user}", previous_email=old, email=new, language_code="ar"
            ),
        ),
    ]
    for handler, kind, payload in identity_events:
        event = make_envelope(source="identity", event_type=kind, subject="s", payload=payload)
        for _ in range(2):  # Delivered twice: emailed once.
            uow = new_uow()
            async with uow:
                await handler(event, uow, mail=mail)
                await uow.commit()
    await sending.send_due_emails(new_uow, SmtpEmail("127.0.0.1", port, "Stride <n@stride.test>"))
    async with new_uow() as uow:
        address = await uow.notifications.address_of(user)
        at_rest = await uow.session.execute(
            text("SELECT body_sealed FROM emails WHERE user_id = :user"), {"user": user}
        )
        stored: list[bytes] = list(at_rest.scalars().all())

    def plain(message: EmailMessage) -> str:
        return str(cast(EmailMessage, message.get_body(("plain",))).get_content())

    to_old = [m for m in mailbox.messages if m["To"] == old]
    (to_new,) = [m for m in mailbox.messages if m["To"] == new]
    assert [m["Subject"] for m in to_old] == [
        "أهلًا بك في Stride: أكّد بريدك الإلكتروني",
        "أصبح حسابك في Stride يستخدم بريدًا إلكترونيًا آخر",
    ]
    assert "https://edge.stride.test/verify-email?token=verify-1" in plain(to_old[0])
    assert f"{new[0]}{'*' * (len(new.split('@')[0]) - 1)}@x.org" in plain(to_old[1])
    assert "https://edge.stride.test/confirm-email-change?token=change-1" in plain(to_new)
    assert address == new  # What Notifications sends to from now on.
    assert len(stored) == 3
    assert not any(b"verify-1" in body or b"change-1" in body for body in stored)  # Sealed.


async def test_an_owner_is_told_of_attempts_on_their_address_and_can_undo_a_move(
    new_uow: partial[NotificationsUnitOfWork], smtp: tuple[Mailbox, int]
) -> None:
    """Identity's account warnings: a new verification link, someone trying to use the
    address, and the move of the account with the link that takes it back, after which
    messages go to the address the account is back on."""
    mailbox, port = smtp
    user, old, new = uuid.uuid4(), f"{uuid.uuid4().hex}@example.com", f"{uuid.uuid4().hex}@x.org"
    mail = events.AccountEmails(Templates(), "https://edge.stride.test", EVENT_SECRETS)

    def sealed(token: str, event_type: str) -> SealedSecret:
        return seal_secret(
            EVENT_SECRETS, token, event_type=event_type, user=f"users/{user}", recipient=old
        )

    expires = Timestamp()
    expires.FromDatetime(datetime(2027, 1, 2, 3, 4, tzinfo=UTC))
    verification = "identity.user.email_verification_requested.v1"
    identity_events: list[tuple[Callable[..., Awaitable[None]], str, Message]] = [
        (
            partial(events.on_email_verification_requested, mail=mail),
            verification,
            UserEmailVerificationRequested(
                user=f"users/{user}",
                email=old,
                display_name="Layla",
                language_code="en",
                expire_time=expires,
                sealed_token=sealed("verify-again", verification),
            ),
        ),
        (
            partial(events.on_email_reuse_attempted, mail=mail),
            "identity.user.email_reuse_attempted.v1",
            UserEmailReuseAttempted(
                user=f"users/{user}",
                email=old,
                language_code="en",
                attempt=UserEmailReuseAttempted.ATTEMPT_SIGN_UP,
            ),
        ),
        (
            partial(events.on_email_changed, mail=mail),
            "identity.user.email_changed.v1",
            UserEmailChanged(
                user=f"users/{user}",
                previous_email=old,
                email=new,
                language_code="en",
                sealed_revert_token=sealed("revert-1", "identity.user.email_changed.v1"),
                revert_expire_time=expires,
            ),
        ),
        (
            events.on_email_change_reverted,
            "identity.user.email_change_reverted.v1",
            UserEmailChangeReverted(
                user=f"users/{user}", email=old, reverted_email=new, language_code="en"
            ),
        ),
    ]
    for handler, kind, payload in identity_events:
        event = make_envelope(source="identity", event_type=kind, subject="s", payload=payload)
        for _ in range(2):  # Delivered twice: emailed once.
            uow = new_uow()
            async with uow:
                await handler(event, uow)
                await uow.commit()
    await sending.send_due_emails(new_uow, SmtpEmail("127.0.0.1", port, "Stride <n@stride.test>"))
    async with new_uow() as uow:
        address = await uow.notifications.address_of(user)

    def plain(message: EmailMessage) -> str:
        return str(cast(EmailMessage, message.get_body(("plain",))).get_content())

    to_old = {str(m["Subject"]): plain(m) for m in mailbox.messages if m["To"] == old}
    assert not [m for m in mailbox.messages if m["To"] == new]
    assert sorted(to_old) == [
        "Someone tried to sign up at Stride with your email address",
        "Welcome to Stride: confirm your email",
        "Your Stride account now uses another email address",
    ]
    verify_link = "https://edge.stride.test/verify-email?token=verify-again"
    assert verify_link in to_old["Welcome to Stride: confirm your email"]
    moved = to_old["Your Stride account now uses another email address"]
    assert "https://edge.stride.test/revert-email-change?token=revert-1" in moved
    assert "password-reset" not in moved
    assert (
        "no account was created"
        in to_old["Someone tried to sign up at Stride with your email address"]
    )
    assert address == old  # Back where the account is.


async def test_billing_s_subscription_events_reach_the_service_through_one_consumer(
    settings: NotificationsSettings,
    new_uow: partial[NotificationsUnitOfWork],
    js: nats.js.JetStreamContext,
    event_prefix: str,
) -> None:
    member = uuid.uuid4()
    changed = SubscriptionChanged(
        subscription=f"users/{member}/subscriptions/s1", member=f"users/{member}"
    )
    changed.next_renewal_time.FromDatetime(datetime(2027, 5, 12, 9, tzinfo=UTC))
    past_due = make_envelope(
        source="billing",
        event_type="billing.subscription.past_due.v1",
        subject=changed.subscription,
        payload=changed,
    )

    async def told() -> bool:
        return len(await inbox_of(new_uow, member)) == 1

    async with running(settings):
        await publish(js, event_prefix, past_due, "a")
        await eventually(told)
    (notification,) = await inbox_of(new_uow, member)
    assert notification.kind == "subscription.past_due"
