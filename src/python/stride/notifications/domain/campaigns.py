"""Campaigns, as pure rules: one marketing message, in A/B variants, to every user matching an
audience who opted into marketing pushes, at a scheduled time and a throttled rate.

Each recipient's variant follows from the campaign and the user alone (a hash, split by the
variants' weights), so planning again after a crash, or on another replica, gives everyone the
same variant. The throttle is a schedule, not a sleep: the n-th recipient's pushes are due
n / per_second seconds after planning started (the send time, or later if the planner was
down then), so a restart keeps the pace and several senders share it.
"""

from __future__ import annotations

import enum
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from stride.notifications.domain.notifications import Channel, Platform
from stride.notifications.domain.preferences import known_zone
from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument
from stride.platform.i18n import SUPPORTED_LOCALES

MARKETING_CHANNELS = frozenset({Channel.PUSH, Channel.EMAIL})  # Never texts.
MAX_VARIANTS = 5
MAX_TITLE_LENGTH = 120  # What a lock screen shows of a push title.
MAX_BODY_LENGTH = 1000
MAX_NAME_LENGTH = 100
MAX_PER_SECOND = 10_000
DEFAULT_PER_SECOND = 100
_BUCKETS = 10_000  # Weights are whole percents; finer buckets keep each share exact.
_VARIANT_KEY = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_PAST_TOLERANCE = timedelta(minutes=1)  # A "send now" that took a moment to arrive.


class CampaignState(enum.Enum):
    SCHEDULED = "scheduled"  # Waiting for its send time.
    PLANNING = "planning"  # Recipients being given their notification, a batch at a time.
    PLANNED = "planned"  # Every recipient has it; pushes go out at the campaign's pace.
    CANCELLED = "cancelled"  # Pushes not yet sent never will be.


@dataclass(frozen=True)
class Content:
    title: str
    body: str


@dataclass(frozen=True)
class Variant:
    key: str  # e.g. `a`, `b`: what the statistics are broken down by.
    weight: int  # Percent of the audience.
    content: Mapping[str, Content]  # By language: every supported one.


class Membership(enum.Enum):
    """Where a user stands with the studio, from Billing's subscription events."""

    ACTIVE = "active"  # A subscription that gives access (trialing, active, frozen, in grace).
    LAPSED = "lapsed"  # Subscriptions once, none giving access now: win-back campaigns.
    NONE = "none"  # Never subscribed.


@dataclass(frozen=True)
class Audience:
    """Who the campaign is for, beyond having opted into one of its channels. An empty set
    matches everyone."""

    languages: frozenset[str] = frozenset()
    time_zones: frozenset[str] = frozenset()
    platforms: frozenset[Platform] = frozenset()  # Users with a device on one of these.
    memberships: frozenset[Membership] = frozenset()


@dataclass(frozen=True)
class Campaign:
    id: uuid.UUID
    display_name: str
    audience: Audience
    variants: tuple[Variant, ...]
    send_time: datetime
    per_second: int  # Recipients per second at most.
    state: CampaignState
    creator: str
    created: datetime
    planned: int = 0  # Recipients given their notification so far.
    cursor: uuid.UUID | None = None  # The last user planned; users are planned in id order.
    started: datetime | None = None  # When planning began: the pace counts from it.
    # Pushes to users who opted into marketing pushes, emails to those who opted into
    # marketing email; every recipient gets it in their inbox.
    channels: frozenset[Channel] = frozenset({Channel.PUSH})

    @property
    def resource_name(self) -> str:
        return f"campaigns/{self.id}"

    def variant_for(self, user_id: uuid.UUID) -> Variant:
        return assign_variant(self.id, user_id, self.variants)

    def push_time(self, position: int) -> datetime:
        """When the recipient planned `position`-th (from 0) may be pushed."""
        start = self.started or self.send_time
        return start + timedelta(seconds=position / self.per_second)

    def planning(self, now: datetime) -> Campaign:
        """Planning goes on, or begins now."""
        if self.started is not None:
            return self
        return replace(self, state=CampaignState.PLANNING, started=now)

    def planned_up_to(self, cursor: uuid.UUID, count: int) -> Campaign:
        return replace(self, cursor=cursor, planned=self.planned + count)

    def fully_planned(self) -> Campaign:
        return replace(self, state=CampaignState.PLANNED)

    def cancelled(self) -> Campaign:
        return replace(self, state=CampaignState.CANCELLED)


@dataclass(frozen=True)
class VariantStats:
    key: str
    recipients: int = 0  # Users who got the notification (in their inbox, and by push).
    opened: int = 0  # Of those, how many opened it.
    pushes_sent: int = 0
    pushes_failed: int = 0  # Refused, dead tokens, or out of retries.
    pushes_pending: int = 0  # Due later (the pace, quiet hours) or being sent.
    emails_sent: int = 0
    emails_failed: int = 0
    emails_pending: int = 0

    @property
    def pending(self) -> int:
        """Pushes and emails not sent yet: what cancelling would stop."""
        return self.pushes_pending + self.emails_pending


def assign_variant(
    campaign_id: uuid.UUID, user_id: uuid.UUID, variants: Sequence[Variant]
) -> Variant:
    """The user's variant: the same for the same campaign and user, wherever it is asked."""
    digest = hashlib.sha256(f"{campaign_id}/{user_id}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % _BUCKETS
    threshold = 0
    for variant in variants:
        threshold += variant.weight * _BUCKETS // 100
        if bucket < threshold:
            return variant
    return variants[-1]


def new_campaign(
    display_name: str,
    audience: Audience,
    variants: Sequence[Variant],
    send_time: datetime | None,
    per_second: int,
    creator: str,
    now: datetime,
    channels: frozenset[Channel] = frozenset({Channel.PUSH}),
) -> Campaign:
    violations = [
        *_channels_violations(channels),
        *_name_violations(display_name),
        *_audience_violations(audience),
        *_variants_violations(variants),
    ]
    if send_time is not None and send_time < now - _PAST_TOLERANCE:
        violations.append(FieldViolation("campaign.send_time", "campaign.send_time_past"))
    if not 0 < per_second <= MAX_PER_SECOND:
        violations.append(
            FieldViolation("campaign.per_second", "campaign.per_second", {"max": MAX_PER_SECOND})
        )
    if violations:
        raise InvalidArgument(violations)
    return Campaign(
        uuid.uuid4(),
        display_name.strip(),
        audience,
        tuple(variants),
        max(send_time or now, now),
        per_second,
        CampaignState.SCHEDULED,
        creator,
        now,
        channels=channels,
    )


def cancel(campaign: Campaign, pending: int) -> Campaign:
    """Stops a campaign; cancelling it again changes nothing. A planned campaign whose pushes
    and emails have all gone (none `pending`) has nothing left to stop."""
    if campaign.state is CampaignState.CANCELLED:
        return campaign
    if campaign.state is CampaignState.PLANNED and pending == 0:
        raise FailedPrecondition("CAMPAIGN_FINISHED", "campaign.finished")
    return campaign.cancelled()


def _channels_violations(channels: frozenset[Channel]) -> list[FieldViolation]:
    if not channels or not channels <= MARKETING_CHANNELS:
        return [FieldViolation("campaign.channels", "campaign.channels")]
    return []


def _name_violations(display_name: str) -> list[FieldViolation]:
    if not display_name.strip() or len(display_name) > MAX_NAME_LENGTH:
        return [FieldViolation("campaign.display_name", "campaign.name", {"max": MAX_NAME_LENGTH})]
    return []


def _audience_violations(audience: Audience) -> list[FieldViolation]:
    violations = []
    if not audience.languages <= set(SUPPORTED_LOCALES):
        violations.append(
            FieldViolation("campaign.audience.language_codes", "campaign.unsupported_language")
        )
    if not all(known_zone(zone) for zone in audience.time_zones):
        violations.append(
            FieldViolation("campaign.audience.time_zones", "preferences.unknown_zone")
        )
    return violations


def _variants_violations(variants: Sequence[Variant]) -> list[FieldViolation]:
    if not 0 < len(variants) <= MAX_VARIANTS:
        return [FieldViolation("campaign.variants", "campaign.variants", {"max": MAX_VARIANTS})]
    violations = []
    keys = [variant.key for variant in variants]
    if len(set(keys)) != len(keys) or not all(_VARIANT_KEY.match(key) for key in keys):
        violations.append(FieldViolation("campaign.variants.key", "campaign.variant_key"))
    if any(v.weight <= 0 for v in variants) or sum(v.weight for v in variants) != 100:
        violations.append(FieldViolation("campaign.variants.weight", "campaign.weights"))
    for index, variant in enumerate(variants):
        violations.extend(_content_violations(index, variant.content))
    return violations


def _content_violations(index: int, content: Mapping[str, Content]) -> list[FieldViolation]:
    field = f"campaign.variants[{index}].messages"
    if set(content) != set(SUPPORTED_LOCALES):
        return [FieldViolation(field, "campaign.content_languages")]
    too_long = {"title": MAX_TITLE_LENGTH, "body": MAX_BODY_LENGTH}
    return [
        FieldViolation(f"{field}.{part}", "campaign.content_length", {"max": limit})
        for text in content.values()
        for part, limit in too_long.items()
        if not getattr(text, part).strip() or len(getattr(text, part)) > limit
    ][:1]
