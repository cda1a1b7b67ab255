"""Notifications' tables. Schema changes go through the Alembic versions beside this file."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, String, Text, Time
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class RecipientRecord(SQLModel, table=True):
    """What Notifications knows of a user: how to address them, their language and time zone
    (from Identity's events, as of profile revision `profile_revision`), and their
    preferences."""

    __tablename__ = "recipients"

    user_id: uuid.UUID = Field(primary_key=True)
    email: str = Field(max_length=320)
    language: str = Field(max_length=8)
    time_zone: str = Field(default="UTC", max_length=64)
    profile_revision: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    quiet_start: time | None = Field(default=None, sa_column=Column(Time))
    quiet_end: time | None = Field(default=None, sa_column=Column(Time))
    marketing_push: bool = False
    marketing_email: bool = False
    phone_number: str = Field(default="", max_length=16)
    verified_phone_number: str = Field(default="", max_length=16)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DeviceRecord(SQLModel, table=True):
    __tablename__ = "devices"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(index=True)
    token: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    platform: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class NotificationRecord(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("notifications_inbox", "user_id", "created_at"),
        Index(
            "notifications_campaign",
            "campaign_id",
            postgresql_where=Column("campaign_id").is_not(None),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID
    kind: str = Field(max_length=64)
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    marketing: bool = False
    # For a campaign's notifications: which campaign, and the recipient's variant of it.
    campaign_id: uuid.UUID | None = None
    variant: str | None = Field(default=None, max_length=20)


class DeliveryRecord(SQLModel, table=True):
    """One push of one notification to one device, and how it went."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("deliveries_due", "next_attempt", postgresql_where=Column("state") == "pending"),
        Index("deliveries_failed", "updated_at", postgresql_where=Column("state") == "failed"),
    )

    notification_id: uuid.UUID = Field(foreign_key="notifications.id", primary_key=True)
    device_id: uuid.UUID = Field(primary_key=True)
    token: str = Field(sa_column=Column(Text, nullable=False))  # The device may be pruned.
    state: str = Field(max_length=16)
    attempts: int = 0
    next_attempt: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EmailRecord(SQLModel, table=True):
    """An email to send (or sent): rendered when its event arrived. Its text and HTML are
    sealed (AES-256-GCM under data key `data_key_id`): they carry credentials, such as a
    password-reset link."""

    __tablename__ = "emails"
    __table_args__ = (
        Index("emails_due", "next_attempt", postgresql_where=Column("state") == "pending"),
        Index("emails_failed", "updated_at", postgresql_where=Column("state") == "failed"),
    )

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(index=True)
    to_address: str = Field(max_length=320)
    language: str = Field(max_length=8)
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    body_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    data_key_id: str = Field(max_length=32)
    unsubscribe_url: str = Field(default="", sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=16)
    attempts: int = 0
    next_attempt: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TextMessageRecord(SQLModel, table=True):
    """A text message to send (or sent) for a transactional notification."""

    __tablename__ = "text_messages"
    __table_args__ = (
        Index("text_messages_due", "next_attempt", postgresql_where=Column("state") == "pending"),
        Index("text_messages_failed", "updated_at", postgresql_where=Column("state") == "failed"),
    )

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(index=True)
    to_number: str = Field(max_length=16)
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=16)
    attempts: int = 0
    next_attempt: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class PhoneCodeRecord(SQLModel, table=True):
    """The one-time code last texted to a member to verify their number (hashed); gone once
    used, and pruned once expired."""

    __tablename__ = "phone_codes"

    user_id: uuid.UUID = Field(primary_key=True)
    phone_number: str = Field(max_length=16)
    code_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    attempts: int = 0
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SendCountRecord(SQLModel, table=True):
    """How many texts, codes or emails one member, number or address was sent in a window
    (a day or an hour from `window_start`). The key is a hash: no number or address is kept
    here. Pruned two days after the window."""

    __tablename__ = "send_counts"
    __table_args__ = (Index("send_counts_window", "window_start"),)

    key_hash: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    window_start: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    sends: int


class MembershipRecord(SQLModel, table=True):
    """A subscription of a user's, as Billing's events last told: whether it gives access."""

    __tablename__ = "memberships"

    subscription: str = Field(sa_column=Column(String(200), primary_key=True))
    user_id: uuid.UUID = Field(index=True)
    active: bool
    changed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ReminderRecord(SQLModel, table=True):
    __tablename__ = "reminders"
    __table_args__ = (
        Index("reminders_due", "remind_at", postgresql_where=Column("state") == "pending"),
    )

    booking: str = Field(sa_column=Column(String(200), primary_key=True))
    user_id: uuid.UUID
    class_session: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    class_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    remind_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    state: str = Field(max_length=16)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class CampaignRecord(SQLModel, table=True):
    __tablename__ = "campaigns"
    __table_args__ = (
        Index(
            "campaigns_due",
            "send_time",
            postgresql_where=Column("state").in_(["scheduled", "planning"]),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    display_name: str = Field(max_length=100)
    # {"languages": [...], "time_zones": [...], "platforms": [...]}
    audience: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # [{"key": "a", "weight": 50, "content": {"en": {"title": ..., "body": ...}, ...}}, ...]
    variants: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    send_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    per_second: int
    channels: list[str] = Field(sa_column=Column(JSONB, nullable=False))  # ["push", "email"]
    state: str = Field(max_length=16)
    creator: str = Field(max_length=200)
    planned: int = 0
    cursor: uuid.UUID | None = None
    started: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DeliveryAttemptRecord(SQLModel, table=True):
    """The delivery log: one row per try at sending a push or an email."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("delivery_attempts_of", "notification_id", "target"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    notification_id: uuid.UUID
    target: str = Field(max_length=64)  # A device's id, or `email`.
    channel: str = Field(max_length=8)
    attempt: int
    outcome: str = Field(max_length=16)
    attempted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
