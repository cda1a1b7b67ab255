"""Campaigns against real Postgres and a local FCM: the audience is who opted in and matches
the filter; everyone gets their own variant in their language once, at the campaign's pace and
after their quiet hours; each variant's figures count pushes and opens; cancelling stops what
has not gone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from typing import cast
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio

from notifications.support import Mailbox, lives_in
from stack.fcm import PROJECT_ID, FcmServer
from stride.billing.events.v1.events_pb2 import SubscriptionChanged
from stride.notifications.adapters.campaign_repository import PlannedRecipient
from stride.notifications.adapters.fcm_push import FcmPush, ServiceAccount
from stride.notifications.adapters.smtp_email import SmtpEmail
from stride.notifications.adapters.templates import Templates
from stride.notifications.domain.campaigns import (
    Audience,
    CampaignState,
    Content,
    Membership,
    Variant,
    assign_variant,
)
from stride.notifications.domain.notifications import (
    Channel,
    Device,
    Notification,
    Platform,
    notification_id,
)
from stride.notifications.service_layer import campaigns, events, members, sending
from stride.notifications.service_layer.campaigns import CampaignMail, CampaignReport
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import FailedPrecondition, PermissionDenied
from stride.platform.events.envelope import make_envelope

NOW = datetime(2027, 4, 5, 9, tzinfo=UTC)  # 12:00 in Riyadh, 10:00 in London.
ADMIN = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))
VARIANTS = [
    Variant(
        "a",
        50,
        {"en": Content("Spring offer", "Ten percent off."), "ar": Content("عرض الربيع", "خصم.")},
    ),
    Variant(
        "b",
        50,
        {"en": Content("Ten percent off", "Spring only."), "ar": Content("خصم عشرة", "ربيعًا.")},
    ),
]


@dataclass(frozen=True)
class Member:
    id: uuid.UUID
    token: str
    language: str


@pytest_asyncio.fixture
async def push(fcm: FcmServer) -> AsyncIterator[FcmPush]:
    provider = FcmPush(fcm.api_base, PROJECT_ID, ServiceAccount.from_json(fcm.key_json))
    yield provider
    await provider.close()


async def members_in(
    new_uow: partial[NotificationsUnitOfWork],
    zone: str,
    count: int,
    *,
    opted_in: bool = True,
    platform: Platform = Platform.ANDROID,
    quiet: tuple[str, str] = ("", ""),
) -> list[Member]:
    """Members known to Notifications (Identity's event), each with a phone, in `zone`."""
    found = []
    for index in range(count):
        member = Member(uuid.uuid4(), f"fcm-{uuid.uuid4().hex}", ("ar", "en")[index % 2])
        async with new_uow() as uow:
            await uow.notifications.keep_address(member.id, f"{member.id}@example.com", NOW)
            await uow.commit()
        await lives_in(new_uow, member.id, zone, member.language)
        with authenticated_as(Principal(user_id=str(member.id), roles=frozenset({"member"}))):
            await members.register(new_uow(), member.id, member.token, platform)
            await members.update_preferences(
                new_uow(),
                member.id,
                {
                    "marketing_push": opted_in,
                    "quiet_hours_start": quiet[0],
                    "quiet_hours_end": quiet[1],
                },
            )
        found.append(member)
    return found


async def create(
    new_uow: partial[NotificationsUnitOfWork], audience: Audience, per_second: int
) -> CampaignReport:
    with authenticated_as(ADMIN):
        return await campaigns.create(
            new_uow(), "Spring", audience, VARIANTS, None, per_second, clock=lambda: NOW
        )


async def report(new_uow: partial[NotificationsUnitOfWork], created: CampaignReport) -> dict:
    with authenticated_as(ADMIN):
        found = await campaigns.get(new_uow(), created.campaign.id)
    return {stats.key: stats for stats in found.stats} | {"state": found.campaign.state}


def pushes_to(fcm: FcmServer, audience: Sequence[Member]) -> dict[str, list[str]]:
    tokens = {member.token for member in audience}
    found: dict[str, list[str]] = {}
    for message in fcm.messages:
        if message["token"] in tokens:
            found.setdefault(message["token"], []).append(message["notification"]["title"])
    return found


async def test_each_opted_in_member_gets_their_variant_once_and_the_figures_add_up(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer, push: FcmPush
) -> None:
    audience = await members_in(new_uow, "Asia/Riyadh", 12)
    opted_out = await members_in(new_uow, "Asia/Riyadh", 2, opted_in=False)
    elsewhere = await members_in(new_uow, "Asia/Kolkata", 2)
    gone = audience[0]
    fcm.dead_tokens.add(gone.token)  # The app was uninstalled.
    created = await create(new_uow, Audience(time_zones=frozenset({"Asia/Riyadh"})), 1000)

    planned = await campaigns.plan_due(new_uow, clock=lambda: NOW, batch=5)
    again = await campaigns.plan_due(new_uow, clock=lambda: NOW + timedelta(minutes=1))
    await sending.send_due(new_uow, push, clock=lambda: NOW + timedelta(minutes=1))
    opener = next(
        m for m in audience[1:] if assign_variant(created.campaign.id, m.id, VARIANTS).key == "a"
    )
    with authenticated_as(Principal(user_id=str(opener.id), roles=frozenset({"member"}))):
        (in_inbox,) = await members.inbox(new_uow(), opener.id, 0, 10)
        await members.mark_read(new_uow(), opener.id, in_inbox.id)

    assert (planned, again) == (12, 0)
    received = pushes_to(fcm, [*audience, *opted_out, *elsewhere])
    expected = {
        member.token: [
            assign_variant(created.campaign.id, member.id, VARIANTS).content[member.language].title
        ]
        for member in audience[1:]
    }
    assert received == expected
    assert in_inbox.subject == created.campaign.resource_name
    figures = await report(new_uow, created)
    split = {
        key: sum(
            1 for m in audience if assign_variant(created.campaign.id, m.id, VARIANTS).key == key
        )
        for key in "ab"
    }
    assert figures["state"] is CampaignState.PLANNED
    assert {key: figures[key].recipients for key in "ab"} == split
    assert sum(figures[key].pushes_sent for key in "ab") == 11
    assert sum(figures[key].pushes_failed for key in "ab") == 1
    assert (figures["a"].opened, figures["b"].opened) == (1, 0)


async def test_the_pace_and_quiet_hours_spread_the_pushes(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer, push: FcmPush
) -> None:
    awake = await members_in(new_uow, "Europe/London", 6)
    asleep = await members_in(new_uow, "Europe/London", 1, quiet=("09:30", "11:00"))
    created = await create(new_uow, Audience(time_zones=frozenset({"Europe/London"})), 2)

    await campaigns.plan_due(new_uow, clock=lambda: NOW + timedelta(minutes=31))
    send_time = NOW + timedelta(minutes=31)  # 10:31 in London: in the sleeper's quiet hours.
    await sending.send_due(new_uow, push, clock=lambda: send_time + timedelta(seconds=1))
    after_a_second = len(pushes_to(fcm, awake))
    await sending.send_due(new_uow, push, clock=lambda: send_time + timedelta(seconds=10))
    after_ten_seconds = len(pushes_to(fcm, [*awake, *asleep]))
    await sending.send_due(new_uow, push, clock=lambda: NOW + timedelta(hours=1))

    assert created.campaign.send_time == NOW
    # Planned half an hour late (the service was down), the pace counts from then.
    assert 2 <= after_a_second <= 3
    assert after_ten_seconds == 6  # Not the sleeper: 11:00 in London.
    assert len(pushes_to(fcm, asleep)) == 1


async def test_the_audience_filter_and_cancelling(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer, push: FcmPush
) -> None:
    arabic_ios = await members_in(new_uow, "Asia/Dubai", 6, platform=Platform.IOS)
    android = await members_in(new_uow, "Asia/Dubai", 2)
    audience = Audience(
        languages=frozenset({"ar"}),
        time_zones=frozenset({"Asia/Dubai"}),
        platforms=frozenset({Platform.IOS}),
    )
    created = await create(new_uow, audience, 1)
    await campaigns.plan_due(new_uow, clock=lambda: NOW)
    await sending.send_due(new_uow, push, clock=lambda: NOW)  # One a second: the first goes.
    with authenticated_as(ADMIN):
        cancelled = await campaigns.cancel_campaign(new_uow(), created.campaign.id)
        again = await campaigns.cancel_campaign(new_uow(), created.campaign.id)
    await sending.send_due(new_uow, push, clock=lambda: NOW + timedelta(hours=1))

    in_audience = [m for m in arabic_ios if m.language == "ar"]
    assert sum(stats.recipients for stats in cancelled.stats) == len(in_audience) == 3
    assert len(pushes_to(fcm, [*arabic_ios, *android])) == 1
    assert cancelled.campaign.state is again.campaign.state is CampaignState.CANCELLED
    assert sum(stats.pushes_pending for stats in again.stats) == 0


async def test_only_admins_run_campaigns_and_a_finished_one_cannot_be_cancelled(
    new_uow: partial[NotificationsUnitOfWork], push: FcmPush
) -> None:
    await members_in(new_uow, "America/Sao_Paulo", 1)
    created = await create(new_uow, Audience(time_zones=frozenset({"America/Sao_Paulo"})), 10)
    await campaigns.plan_due(new_uow, clock=lambda: NOW)
    await sending.send_due(new_uow, push, clock=lambda: NOW + timedelta(minutes=1))

    manager = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"manager"}))
    with authenticated_as(manager), pytest.raises(PermissionDenied):
        await campaigns.get(new_uow(), created.campaign.id)
    with authenticated_as(ADMIN), pytest.raises(FailedPrecondition):
        await campaigns.cancel_campaign(new_uow(), created.campaign.id)


SECRET = b"unsubscribe-secret-for-tests-32b!"


async def test_an_email_campaign_reaches_opted_in_readers_who_can_unsubscribe_in_one_click(
    new_uow: partial[NotificationsUnitOfWork], smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    readers = await members_in(new_uow, "Asia/Muscat", 2, opted_in=False)
    for reader in readers:
        with authenticated_as(Principal(user_id=str(reader.id), roles=frozenset({"member"}))):
            await members.update_preferences(new_uow(), reader.id, {"marketing_email": True})
    await members_in(new_uow, "Asia/Muscat", 1, opted_in=False)  # Opted into neither.
    mail = CampaignMail(
        Templates(),
        SECRET,
        "https://stride.test/unsubscribe",
        "https://edge.stride.test/v1/notificationPreferences:unsubscribe",
    )
    audience = Audience(time_zones=frozenset({"Asia/Muscat"}))
    by_email = frozenset({Channel.EMAIL})

    async def run_campaign() -> CampaignReport:
        with authenticated_as(ADMIN):
            created = await campaigns.create(
                new_uow(), "Mail", audience, VARIANTS, None, 100, by_email, mail, clock=lambda: NOW
            )
        await campaigns.plan_due(new_uow, mail, clock=lambda: NOW)
        await sending.send_due_emails(
            new_uow,
            SmtpEmail("127.0.0.1", port, "Stride <no-reply@stride.test>"),
            lambda: NOW + timedelta(minutes=1),  # Past the pace.
        )
        return created

    first_campaign = await run_campaign()
    addressed = {reader.id: f"{reader.id}@example.com" for reader in readers}
    first = [m for m in mailbox.messages if m["To"] in addressed.values()]
    arabic = next(m for m in first if m["Content-Language"] == "ar")
    one_click = arabic["List-Unsubscribe"].strip("<>")
    await members.unsubscribe(new_uow(), SECRET, parse_qs(urlsplit(one_click).query)["token"][0])
    await run_campaign()
    second = [m for m in mailbox.messages if m["To"] in addressed.values()][len(first) :]

    assert len(first) == 2
    assert arabic["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = cast(EmailMessage, arabic.get_body(("html",))).get_content()
    assert 'dir="rtl"' in html
    assert "https://stride.test/unsubscribe?token=" in html
    assert arabic["Subject"] in {"عرض الربيع", "خصم عشرة"}
    assert len(second) == 1  # The one who unsubscribed gets no more.
    figures = await report(new_uow, first_campaign)
    assert sum(figures[key].emails_sent for key in "ab") == 2
    assert sum(figures[key].pushes_sent for key in "ab") == 0  # Email only.
    assert second[0]["To"] != arabic["To"]


async def test_a_campaign_cannot_email_while_marketing_email_is_not_set_up(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    with authenticated_as(ADMIN), pytest.raises(FailedPrecondition):
        await campaigns.create(
            new_uow(), "Mail", Audience(), VARIANTS, None, 10, frozenset({Channel.EMAIL}), None
        )


async def test_a_win_back_campaign_reaches_lapsed_members_only(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    active, lapsed, never = [(await members_in(new_uow, "Asia/Amman", 1))[0] for _ in range(3)]

    async def subscription(member: Member, what: str, at: datetime) -> None:
        changed = SubscriptionChanged(
            subscription=f"users/{member.id}/subscriptions/s1", member=f"users/{member.id}"
        )
        event = make_envelope(
            source="billing",
            event_type=f"billing.subscription.{what}.v1",
            subject=changed.subscription,
            payload=changed,
        )
        event.time.FromDatetime(at)
        uow = new_uow()
        async with uow:
            await events.on_subscription_changed(event, uow, clock=lambda: NOW)
            await uow.commit()

    await subscription(active, "activated", NOW - timedelta(days=60))
    await subscription(lapsed, "activated", NOW - timedelta(days=60))
    await subscription(lapsed, "cancelled", NOW - timedelta(days=10))
    await subscription(lapsed, "renewed", NOW - timedelta(days=30))  # Late: it changes nothing.
    amman = frozenset({"Asia/Amman"})
    with authenticated_as(ADMIN):
        for status in (Membership.LAPSED, Membership.NONE):
            audience = Audience(time_zones=amman, memberships=frozenset({status}))
            await campaigns.create(
                new_uow(), "Back", audience, VARIANTS, None, 10, clock=lambda: NOW
            )
    await campaigns.plan_due(new_uow, clock=lambda: NOW)

    reached = {}
    for member in (active, lapsed, never):
        with authenticated_as(Principal(user_id=str(member.id), roles=frozenset({"member"}))):
            reached[member.id] = len(await members.inbox(new_uow(), member.id, 0, 10))
    assert reached == {active.id: 0, lapsed.id: 1, never.id: 1}


async def test_a_planned_batch_is_written_once_whatever_part_of_it_exists(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    """The planner writes a batch in one statement per kind of row: a recipient with several
    devices gets a push on each, one without a device gets the inbox only, and a recipient
    already planned (a batch written before a crash) is neither counted nor pushed again."""
    created = await create(new_uow, Audience(time_zones=frozenset({"Pacific/Fiji"})), 10)
    campaign = created.campaign
    users = [uuid.uuid4() for _ in range(3)]

    def device(user: uuid.UUID) -> Device:
        return Device(uuid.uuid4(), user, f"fcm-{uuid.uuid4().hex}", Platform.ANDROID, NOW)

    def planned(user: uuid.UUID, devices: list[Device], variant: str) -> PlannedRecipient:
        text = VARIANTS[0].content["ar"]
        notification = Notification(
            notification_id(campaign.resource_name, user),
            user,
            campaigns.CAMPAIGN_KIND,
            campaign.resource_name,
            text.title,
            text.body,
            NOW,
            marketing=True,
        )
        return PlannedRecipient(notification, variant, devices, NOW + timedelta(seconds=1))

    twice = planned(users[0], [device(users[0]), device(users[0])], "a")
    async with new_uow() as uow:
        first = await uow.campaigns.add_planned(campaign, [twice, planned(users[1], [], "a")])
        await uow.commit()
    async with new_uow() as uow:
        again = await uow.campaigns.add_planned(
            campaign, [twice, planned(users[2], [device(users[2])], "b")]
        )
        await uow.commit()

    figures = await report(new_uow, created)
    with authenticated_as(Principal(user_id=str(users[0]), roles=frozenset({"member"}))):
        (in_inbox,) = await members.inbox(new_uow(), users[0], 0, 10)
    assert (first, again) == (2, 1)
    assert (figures["a"].recipients, figures["b"].recipients) == (2, 1)
    assert (figures["a"].pushes_pending, figures["b"].pushes_pending) == (2, 1)
    assert (in_inbox.title, in_inbox.body, in_inbox.marketing) == ("عرض الربيع", "خصم.", True)
