"""Identity's tables. Schema changes go through the Alembic versions beside this file."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime, String
from sqlmodel import Field, SQLModel


class UserRecord(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(primary_key=True)
    # Stored normalized (lower case); the unique index is what settles concurrent sign-ups.
    email: str = Field(sa_column=Column(String(254), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(256), nullable=False))
    display_name: str = Field(sa_column=Column(String(80), nullable=False))
    language_code: str = Field(sa_column=Column(String(8), nullable=False))
    time_zone: str = Field(sa_column=Column(String(64), nullable=False))
    email_verified: bool = Field(default=False, nullable=False)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
