"""Campaigns: admins create, follow and cancel them; the planner turns a due campaign into
notifications with paced pushes and emails, a batch of recipients per transaction (the batch
and the campaign's cursor commit together, so a crash resumes where it stopped). The senders
then send them when they fall due (`sending`)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from stride.notifications import translations  # noqa: F401 - registers the texts.
from stride.notifications.adapters.campaign_repository import PlannedRecipient, Recipient
from stride.notifications.domain.campaigns import (
    Audience,
    Campaign,
    Content,
    Variant,
    VariantStats,
    cancel,
    new_campaign,
)
from stride.notifications.domain.notifications import (
    Channel,
    DeliveryState,
    Device,
    Email,
    Notification,
    notification_id,
)
from stride.notifications.domain.preferences import CAP_LOOKBACK, next_allowed, under_daily_cap
from stride.notifications.domain.unsubscribe import unsubscribe_token
from stride.notifications.service_layer.events import Renderer
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import require_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition, NotFound
from stride.platform.i18n import negotiate_locale

PLAN_BATCH = 1000
# Members' language tags are few: each is negotiated once, not once per recipient.
_locale = functools.lru_cache(maxsize=256)(negotiate_locale)
CAMPAIGN_KIND = "campaign"
CAMPAIGN_TEMPLATE = 1  # The version of the `campaign` email template new campaigns use.


@dataclass(frozen=True)
class CampaignMail:
    """How a campaign's emails are written: its template, and unsubscribe links signed with
    the service's secret — one to a page where the reader confirms, one their mail app
    calls itself (RFC 8058 one-click)."""

    templates: Renderer
    unsubscribe_secret: bytes
    unsubscribe_page: str
    one_click_url: str

    def compose(
        self, recipient: Recipient, content: Content, email_id: uuid.UUID, due: datetime
    ) -> Email:
        user_id, language = recipient.preferences.user_id, negotiate_locale(recipient.language)
        query = urlencode({"token": unsubscribe_token(self.unsubscribe_secret, user_id)})
        rendered = self.templates.render(
            "campaign",
            CAMPAIGN_TEMPLATE,
            language,
            {
                "title": content.title,
                "body": content.body,
                "unsubscribe_link": f"{self.unsubscribe_page}?{query}",
            },
        )
        return Email(
            email_id,
            user_id,
            recipient.email,
            language,
            rendered.subject,
            rendered.text,
            rendered.html,
            DeliveryState.PENDING,
            0,
            due,
            unsubscribe_url=f"{self.one_click_url}?{query}",
        )


@dataclass(frozen=True)
class CampaignReport:
    campaign: Campaign
    stats: tuple[VariantStats, ...]  # One per variant, in the campaign's order.


async def create(
    uow: NotificationsUnitOfWork,
    display_name: str,
    audience: Audience,
    variants: Sequence[Variant],
    send_time: datetime | None,
    per_second: int,
    channels: frozenset[Channel] = frozenset({Channel.PUSH}),
    mail: CampaignMail | None = None,
    clock: Clock = utcnow,
) -> CampaignReport:
    """`mail` is None while marketing email is not set up (no SMTP relay or no unsubscribe
    secret): campaigns can push, not email."""
    principal = require_role("admin")
    campaign = new_campaign(
        display_name,
        audience,
        variants,
        send_time,
        per_second,
        f"users/{principal.user_id}",
        clock(),
        channels,
    )
    if Channel.EMAIL in channels and mail is None:
        raise FailedPrecondition("MARKETING_EMAIL_OFF", "campaign.email_off")
    async with uow:
        await uow.campaigns.add(campaign)
        await uow.commit()
    return _report(campaign, [])


async def get(uow: NotificationsUnitOfWork, campaign_id: uuid.UUID) -> CampaignReport:
    require_role("admin")
    async with uow:
        campaign = await _existing(uow, campaign_id)
        stats = await uow.campaigns.stats([campaign.id])
    return _report(campaign, stats.get(campaign.id, []))


async def newest(uow: NotificationsUnitOfWork, offset: int, limit: int) -> list[CampaignReport]:
    require_role("admin")
    async with uow:
        found = await uow.campaigns.newest(offset, limit)
        stats = await uow.campaigns.stats([campaign.id for campaign in found])
    return [_report(campaign, stats.get(campaign.id, [])) for campaign in found]


async def cancel_campaign(
    uow: NotificationsUnitOfWork, campaign_id: uuid.UUID, clock: Clock = utcnow
) -> CampaignReport:
    """Stops planning and every push or email not yet sent; the inbox keeps what was
    planned."""
    require_role("admin")
    async with uow:
        # Waits for a planner's batch in flight, so none is planned after this commits.
        campaign = await _existing(uow, campaign_id, for_update=True)
        before = await uow.campaigns.stats([campaign.id])
        pending = sum(variant.pending for variant in before.get(campaign.id, []))
        cancelled = cancel(campaign, pending)
        now = clock()
        await uow.campaigns.save(cancelled, now)
        await uow.campaigns.cancel_sending(campaign.id, now)
        after = await uow.campaigns.stats([campaign.id])
        await uow.commit()
    return _report(cancelled, after.get(campaign.id, []))


async def _existing(
    uow: NotificationsUnitOfWork, campaign_id: uuid.UUID, for_update: bool = False
) -> Campaign:
    campaign = await uow.campaigns.get(campaign_id, for_update)
    if campaign is None:
        raise NotFound("CAMPAIGN_NOT_FOUND", "campaign.not_found")
    return campaign


def _report(campaign: Campaign, stats: Sequence[VariantStats]) -> CampaignReport:
    by_key = {variant.key: variant for variant in stats}
    return CampaignReport(
        campaign,
        tuple(by_key.get(variant.key, VariantStats(variant.key)) for variant in campaign.variants),
    )


async def plan_due(
    new_uow: Callable[[], NotificationsUnitOfWork],
    mail: CampaignMail | None = None,
    clock: Clock = utcnow,
    batch: int = PLAN_BATCH,
) -> int:
    """Plans every campaign due now, a batch of recipients per transaction; how many
    recipients it planned."""
    planned = 0
    while True:
        uow = new_uow()
        async with uow:
            now = clock()
            claimed = await uow.campaigns.claim_due(now)
            if claimed is None:
                return planned
            campaign = claimed.planning(now)
            recipients = await uow.campaigns.audience_after(campaign, batch)
            if recipients:
                added = await _plan(uow, campaign, recipients, mail, now)
                campaign = campaign.planned_up_to(recipients[-1].preferences.user_id, added)
                planned += added
            else:
                campaign = campaign.fully_planned()
            await uow.campaigns.save(campaign, now)
            await uow.commit()


async def _plan(
    uow: NotificationsUnitOfWork,
    campaign: Campaign,
    recipients: Sequence[Recipient],
    mail: CampaignMail | None,
    now: datetime,
) -> int:
    users = [recipient.preferences.user_id for recipient in recipients]
    devices = await uow.notifications.devices_by_user(users)
    sent = await uow.notifications.marketing_pushes_since(users, now - CAP_LOOKBACK)
    return await uow.campaigns.add_planned(
        campaign,
        [
            _planned(
                campaign,
                recipient,
                devices.get(recipient.preferences.user_id, []),
                sent.get(recipient.preferences.user_id, []),
                position,
                mail,
                now,
            )
            for position, recipient in enumerate(recipients, start=campaign.planned)
        ],
    )


def _planned(
    campaign: Campaign,
    recipient: Recipient,
    devices: Sequence[Device],
    sent_lately: Sequence[datetime],
    position: int,
    mail: CampaignMail | None,
    now: datetime,
) -> PlannedRecipient:
    """The recipient's notification in their variant and language, due at their place in the
    campaign's pace: pushed after their quiet hours if they opted into marketing pushes and
    today's are not spent; emailed if they opted into marketing email."""
    preferences = recipient.preferences
    variant = campaign.variant_for(preferences.user_id)
    text = variant.content[_locale(recipient.language)]
    notification = Notification(
        notification_id(campaign.resource_name, preferences.user_id),
        preferences.user_id,
        CAMPAIGN_KIND,
        campaign.resource_name,
        text.title,
        text.body,
        now,
        marketing=True,
    )
    due = campaign.push_time(position)
    pushes = Channel.PUSH in campaign.channels and preferences.marketing_push
    pushed = devices if pushes and under_daily_cap(preferences, sent_lately, now) else []
    wants_email = Channel.EMAIL in campaign.channels and preferences.marketing_email
    email = None
    if mail is not None and wants_email:
        email = mail.compose(recipient, text, notification.id, due)
    return PlannedRecipient(
        notification, variant.key, pushed, next_allowed(preferences, due), email
    )
