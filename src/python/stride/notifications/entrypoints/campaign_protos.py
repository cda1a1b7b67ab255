"""Campaigns between protobuf and the domain."""

from __future__ import annotations

from datetime import UTC, datetime

from stride.notifications.domain.campaigns import (
    DEFAULT_PER_SECOND,
    Audience,
    CampaignState,
    Content,
    Membership,
    Variant,
)
from stride.notifications.domain.notifications import Channel, Platform
from stride.notifications.entrypoints.delivery_protos import CHANNELS
from stride.notifications.service_layer.campaigns import CampaignReport
from stride.notifications.v1 import notifications_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import timestamp

PLATFORMS = {
    pb.Device.PLATFORM_ANDROID: Platform.ANDROID,
    pb.Device.PLATFORM_IOS: Platform.IOS,
}
_MEMBERSHIPS = {
    pb.CampaignAudience.MEMBERSHIP_ACTIVE: Membership.ACTIVE,
    pb.CampaignAudience.MEMBERSHIP_LAPSED: Membership.LAPSED,
    pb.CampaignAudience.MEMBERSHIP_NONE: Membership.NONE,
}
_STATES = {
    CampaignState.SCHEDULED: pb.Campaign.STATE_SCHEDULED,
    CampaignState.PLANNING: pb.Campaign.STATE_PLANNING,
    CampaignState.PLANNED: pb.Campaign.STATE_PLANNED,
    CampaignState.CANCELLED: pb.Campaign.STATE_CANCELLED,
}


def audience_from_proto(audience: pb.CampaignAudience) -> Audience:
    violations = []
    if not set(audience.platforms) <= set(PLATFORMS):
        violations.append(
            FieldViolation("campaign.audience.platforms", "campaign.unknown_platform")
        )
    if not set(audience.memberships) <= set(_MEMBERSHIPS):
        violations.append(
            FieldViolation("campaign.audience.memberships", "campaign.unknown_membership")
        )
    if violations:
        raise InvalidArgument(violations)
    return Audience(
        frozenset(audience.language_codes),
        frozenset(audience.time_zones),
        frozenset(PLATFORMS[platform] for platform in audience.platforms),
        frozenset(_MEMBERSHIPS[status] for status in audience.memberships),
    )


def variants_from_proto(variants: list[pb.CampaignVariant]) -> list[Variant]:
    found = []
    for index, variant in enumerate(variants):
        content = {m.language_code: Content(m.title, m.body) for m in variant.messages}
        if len(content) != len(variant.messages):  # A language given twice.
            raise InvalidArgument(
                [
                    FieldViolation(
                        f"campaign.variants[{index}].messages", "campaign.content_languages"
                    )
                ]
            )
        found.append(Variant(variant.key, variant.weight, content))
    return found


def send_time_from_proto(campaign: pb.Campaign) -> datetime | None:
    return campaign.send_time.ToDatetime(UTC) if campaign.HasField("send_time") else None


def channels_from_proto(campaign: pb.Campaign) -> frozenset[Channel]:
    """Push when none is given."""
    if not campaign.channels:
        return frozenset({Channel.PUSH})
    by_proto = {proto: channel for channel, proto in CHANNELS.items()}
    if not set(campaign.channels) <= set(by_proto):
        raise InvalidArgument([FieldViolation("campaign.channels", "campaign.channels")])
    return frozenset(by_proto[channel] for channel in campaign.channels)


def per_second_from_proto(campaign: pb.Campaign) -> int:
    return campaign.per_second or DEFAULT_PER_SECOND


def campaign_to_proto(report: CampaignReport) -> pb.Campaign:
    campaign = report.campaign
    platforms = {known: proto for proto, known in PLATFORMS.items()}
    memberships = {known: proto for proto, known in _MEMBERSHIPS.items()}
    return pb.Campaign(
        name=campaign.resource_name,
        display_name=campaign.display_name,
        audience=pb.CampaignAudience(
            language_codes=sorted(campaign.audience.languages),
            time_zones=sorted(campaign.audience.time_zones),
            platforms=sorted(platforms[platform] for platform in campaign.audience.platforms),
            memberships=sorted(memberships[status] for status in campaign.audience.memberships),
        ),
        variants=[
            pb.CampaignVariant(
                key=variant.key,
                weight=variant.weight,
                messages=[
                    pb.LocalizedMessage(language_code=language, title=text.title, body=text.body)
                    for language, text in sorted(variant.content.items())
                ],
                statistics=pb.VariantStatistics(
                    recipients=stats.recipients,
                    opened=stats.opened,
                    pushes_sent=stats.pushes_sent,
                    pushes_failed=stats.pushes_failed,
                    pushes_pending=stats.pushes_pending,
                    emails_sent=stats.emails_sent,
                    emails_failed=stats.emails_failed,
                    emails_pending=stats.emails_pending,
                ),
            )
            for variant, stats in zip(campaign.variants, report.stats, strict=True)
        ],
        send_time=timestamp(campaign.send_time),
        per_second=campaign.per_second,
        channels=sorted(CHANNELS[channel] for channel in campaign.channels),
        state=_STATES[campaign.state],
        planned_recipients=campaign.planned,
        creator=campaign.creator,
        create_time=timestamp(campaign.created),
    )
