"""Loads and stores campaigns; finds their audience a batch at a time; writes a batch of their
notifications, pushes and emails in bulk; counts how each variant did."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import ColumnElement, DateTime, String, Text, Uuid, and_, exists, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from stride.notifications.adapters.bulk import unnest
from stride.notifications.adapters.email_repository import email_row
from stride.notifications.adapters.repository import table_of, to_preferences
from stride.notifications.adapters.tables import (
    CampaignRecord,
    DeliveryRecord,
    DeviceRecord,
    EmailRecord,
    MembershipRecord,
    NotificationRecord,
    RecipientRecord,
)
from stride.notifications.domain.campaigns import (
    Audience,
    Campaign,
    CampaignState,
    Content,
    Membership,
    Variant,
    VariantStats,
)
from stride.notifications.domain.notifications import (
    Channel,
    DeliveryState,
    Device,
    Email,
    Notification,
    Platform,
)
from stride.notifications.domain.preferences import Preferences
from stride.platform.crypto.sealing import DataKeyring

_PLANNABLE = (CampaignState.SCHEDULED.value, CampaignState.PLANNING.value)
_FAILED = (DeliveryState.FAILED.value, DeliveryState.DEAD_TOKEN.value)
_PENDING = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)
_TIMESTAMP = DateTime(timezone=True)


@dataclass(frozen=True)
class Recipient:
    preferences: Preferences
    language: str
    email: str


@dataclass(frozen=True)
class PlannedRecipient:
    notification: Notification
    variant: str
    devices: Sequence[Device]  # Pushed to: none if the user gets no pushes from it.
    due: datetime
    email: Email | None = None


class CampaignRepository:
    def __init__(self, session: AsyncSession, data_keys: DataKeyring) -> None:
        self._db = session
        self._data_keys = data_keys  # Seals the bodies of a campaign's emails.

    async def add(self, campaign: Campaign) -> None:
        self._db.add(_to_record(campaign))
        await self._db.flush()

    async def get(self, campaign_id: uuid.UUID, for_update: bool = False) -> Campaign | None:
        query = select(CampaignRecord).where(col(CampaignRecord.id) == campaign_id)
        record = (await self._db.execute(query.with_for_update() if for_update else query)).scalar()
        return _to_campaign(record) if record else None

    async def newest(self, offset: int, limit: int) -> list[Campaign]:
        records = await self._db.execute(
            select(CampaignRecord)
            .order_by(col(CampaignRecord.created_at).desc(), col(CampaignRecord.id))
            .offset(offset)
            .limit(limit)
        )
        return [_to_campaign(record) for record in records.scalars().all()]

    async def save(self, campaign: Campaign, now: datetime) -> None:
        await self._db.execute(
            update(CampaignRecord)
            .where(col(CampaignRecord.id) == campaign.id)
            .values(
                state=campaign.state.value,
                planned=campaign.planned,
                cursor=campaign.cursor,
                started=campaign.started,
                updated_at=now,
            )
        )

    async def claim_due(self, now: datetime) -> Campaign | None:
        """A campaign to plan a batch of, locked until the caller's transaction ends; one
        another planner holds is skipped."""
        record = await self._db.execute(
            select(CampaignRecord)
            .where(
                col(CampaignRecord.state).in_(_PLANNABLE),
                col(CampaignRecord.send_time) <= now,
            )
            .order_by(col(CampaignRecord.send_time))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        found = record.scalar()
        return _to_campaign(found) if found else None

    async def audience_after(self, campaign: Campaign, limit: int) -> list[Recipient]:
        """The next `limit` users (by id, after the campaign's cursor) who opted into one of the
        campaign's channels and match its audience."""
        audience = campaign.audience
        opted_in: list[ColumnElement[bool]] = []
        if Channel.PUSH in campaign.channels:
            opted_in.append(col(RecipientRecord.marketing_push).is_(True))
        if Channel.EMAIL in campaign.channels:
            opted_in.append(
                and_(
                    col(RecipientRecord.marketing_email).is_(True), col(RecipientRecord.email) != ""
                )
            )
        conditions: list[ColumnElement[bool]] = [or_(*opted_in)]
        if campaign.cursor is not None:
            conditions.append(col(RecipientRecord.user_id) > campaign.cursor)
        if audience.languages:
            conditions.append(col(RecipientRecord.language).in_(sorted(audience.languages)))
        if audience.time_zones:
            conditions.append(col(RecipientRecord.time_zone).in_(sorted(audience.time_zones)))
        if audience.memberships:
            conditions.append(or_(*(_standing(status) for status in audience.memberships)))
        if audience.platforms:
            conditions.append(
                exists().where(
                    col(DeviceRecord.user_id) == col(RecipientRecord.user_id),
                    col(DeviceRecord.platform).in_(sorted(p.value for p in audience.platforms)),
                )
            )
        rows = await self._db.execute(
            sa.select(*table_of(RecipientRecord).c)
            .where(*conditions)
            .order_by(col(RecipientRecord.user_id))
            .limit(limit)
        )
        return [Recipient(to_preferences(row), row.language, row.email) for row in rows.all()]

    async def add_planned(self, campaign: Campaign, planned: Sequence[PlannedRecipient]) -> int:
        """Writes each recipient's notification, pushes and email, a statement for each kind
        of row; how many notifications were new (a batch planned before a crash is not
        written twice)."""
        if not planned:
            return 0
        notifications = [recipient.notification for recipient in planned]
        rows = unnest(
            "planned",
            id=(Uuid(), [notification.id for notification in notifications]),
            user_id=(Uuid(), [notification.user_id for notification in notifications]),
            kind=(String(), [notification.kind for notification in notifications]),
            subject=(String(), [notification.subject for notification in notifications]),
            title=(String(), [notification.title for notification in notifications]),
            body=(Text(), [notification.body for notification in notifications]),
            created_at=(_TIMESTAMP, [notification.created for notification in notifications]),
            variant=(String(), [recipient.variant for recipient in planned]),
        )
        added = await self._db.execute(
            insert(NotificationRecord)
            .from_select(
                [*rows.c.keys(), "marketing", "campaign_id"],
                sa.select(*rows.c, sa.true(), sa.literal(campaign.id, Uuid())),
            )
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(col(NotificationRecord.id))
        )
        new = set(added.scalars().all())
        pushes = [
            (recipient, device)
            for recipient in planned
            if recipient.notification.id in new
            for device in recipient.devices
        ]
        if pushes:
            await self._add_pushes(pushes)
        emails = [
            email_row(self._data_keys, recipient.email, recipient.notification.created)
            for recipient in planned
            if recipient.notification.id in new and recipient.email is not None
        ]
        if emails:
            await self._db.execute(insert(EmailRecord), emails)
        return len(new)

    async def _add_pushes(self, pushes: Sequence[tuple[PlannedRecipient, Device]]) -> None:
        rows = unnest(
            "pushes",
            notification_id=(Uuid(), [recipient.notification.id for recipient, _ in pushes]),
            device_id=(Uuid(), [device.id for _, device in pushes]),
            token=(Text(), [device.token for _, device in pushes]),
            next_attempt=(_TIMESTAMP, [recipient.due for recipient, _ in pushes]),
            updated_at=(_TIMESTAMP, [recipient.notification.created for recipient, _ in pushes]),
        )
        await self._db.execute(
            insert(DeliveryRecord).from_select(
                [*rows.c.keys(), "state", "attempts"],
                sa.select(*rows.c, sa.literal(DeliveryState.PENDING.value), sa.literal(0)),
            )
        )

    async def cancel_sending(self, campaign_id: uuid.UUID, now: datetime) -> None:
        """Pushes and emails of the campaign not yet claimed by a sender will not go."""
        of_campaign = select(col(NotificationRecord.id)).where(
            col(NotificationRecord.campaign_id) == campaign_id
        )
        for table, key in (
            (DeliveryRecord, DeliveryRecord.notification_id),
            (EmailRecord, EmailRecord.id),
        ):
            await self._db.execute(
                update(table)
                .where(
                    col(table.state) == DeliveryState.PENDING.value,
                    col(key).in_(of_campaign),
                )
                .values(state=DeliveryState.CANCELLED.value, updated_at=now)
            )

    async def stats(self, campaign_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[VariantStats]]:
        """How each variant of each campaign did so far."""
        pushes = (
            select(
                col(DeliveryRecord.notification_id).label("notification_id"),
                func.count().filter(col(DeliveryRecord.state) == "sent").label("sent"),
                func.count().filter(col(DeliveryRecord.state).in_(_FAILED)).label("failed"),
                func.count().filter(col(DeliveryRecord.state).in_(_PENDING)).label("pending"),
            )
            .group_by(col(DeliveryRecord.notification_id))
            .subquery()
        )
        rows = await self._db.execute(
            sa.select(
                col(NotificationRecord.campaign_id).label("campaign_id"),
                col(NotificationRecord.variant).label("variant"),
                func.count().label("recipients"),
                func.count(col(NotificationRecord.read_at)).label("opened"),
                func.coalesce(func.sum(pushes.c.sent), 0).label("sent"),
                func.coalesce(func.sum(pushes.c.failed), 0).label("failed"),
                func.coalesce(func.sum(pushes.c.pending), 0).label("pending"),
                func.count().filter(col(EmailRecord.state) == "sent").label("emails_sent"),
                func.count().filter(col(EmailRecord.state).in_(_FAILED)).label("emails_failed"),
                func.count().filter(col(EmailRecord.state).in_(_PENDING)).label("emails_pending"),
            )
            .select_from(NotificationRecord)
            .outerjoin(pushes, pushes.c.notification_id == col(NotificationRecord.id))
            .outerjoin(EmailRecord, col(EmailRecord.id) == col(NotificationRecord.id))
            .where(col(NotificationRecord.campaign_id).in_(list(campaign_ids)))
            .group_by(col(NotificationRecord.campaign_id), col(NotificationRecord.variant))
        )
        found: dict[uuid.UUID, list[VariantStats]] = defaultdict(list)
        for row in rows.mappings():
            found[row["campaign_id"]].append(
                VariantStats(
                    row["variant"],
                    int(row["recipients"]),
                    int(row["opened"]),
                    int(row["sent"]),
                    int(row["failed"]),
                    int(row["pending"]),
                    int(row["emails_sent"]),
                    int(row["emails_failed"]),
                    int(row["emails_pending"]),
                )
            )
        return found


def _standing(status: Membership) -> ColumnElement[bool]:
    """Users whose subscriptions put them in `status`."""
    of_user = col(MembershipRecord.user_id) == col(RecipientRecord.user_id)
    active = exists().where(of_user, col(MembershipRecord.active).is_(True))
    subscribed = exists().where(of_user)
    return {
        Membership.ACTIVE: active,
        Membership.LAPSED: and_(subscribed, ~active),
        Membership.NONE: ~subscribed,
    }[status]


def _to_record(campaign: Campaign) -> CampaignRecord:
    audience = campaign.audience
    return CampaignRecord(
        id=campaign.id,
        display_name=campaign.display_name,
        audience={
            "languages": sorted(audience.languages),
            "time_zones": sorted(audience.time_zones),
            "platforms": sorted(platform.value for platform in audience.platforms),
            "memberships": sorted(status.value for status in audience.memberships),
        },
        variants=[
            {
                "key": variant.key,
                "weight": variant.weight,
                "content": {
                    language: {"title": text.title, "body": text.body}
                    for language, text in variant.content.items()
                },
            }
            for variant in campaign.variants
        ],
        send_time=campaign.send_time,
        per_second=campaign.per_second,
        channels=sorted(channel.value for channel in campaign.channels),
        state=campaign.state.value,
        creator=campaign.creator,
        planned=campaign.planned,
        cursor=campaign.cursor,
        started=campaign.started,
        created_at=campaign.created,
        updated_at=campaign.created,
    )


def _to_campaign(record: CampaignRecord) -> Campaign:
    audience = record.audience
    return Campaign(
        record.id,
        record.display_name,
        Audience(
            frozenset(audience["languages"]),
            frozenset(audience["time_zones"]),
            frozenset(Platform(platform) for platform in audience["platforms"]),
            frozenset(Membership(status) for status in audience.get("memberships", [])),
        ),
        tuple(
            Variant(
                variant["key"],
                variant["weight"],
                {
                    language: Content(text["title"], text["body"])
                    for language, text in variant["content"].items()
                },
            )
            for variant in record.variants
        ),
        record.send_time,
        record.per_second,
        CampaignState(record.state),
        record.creator,
        record.created_at,
        record.planned,
        record.cursor,
        record.started,
        frozenset(Channel(channel) for channel in record.channels),
    )
