"""Stores the audit chain; appends one at a time so the chain never forks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.billing.adapters.tables import AuditLogRecord
from stride.billing.domain.audit import AuditEntry, next_entry

_APPEND_LOCK = 0xB111_A0D1  # pg advisory lock: appends to the chain happen one at a time.


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def append(
        self, at: datetime, actor: str, action: str, subject: str, details: Mapping[str, Any]
    ) -> AuditEntry:
        """In the caller's transaction: the entry commits with the decision it records."""
        await self._db.execute(text(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})"))
        last = await self._db.execute(
            select(AuditLogRecord).order_by(col(AuditLogRecord.sequence).desc()).limit(1)
        )
        previous = last.scalar_one_or_none()
        entry = next_entry(
            _to_entry(previous) if previous else None, at, actor, action, subject, details
        )
        self._db.add(
            AuditLogRecord(
                sequence=entry.sequence,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                subject=entry.subject,
                details=json.dumps(entry.details, sort_keys=True, ensure_ascii=False),
                previous_hash=entry.previous_hash,
                hash=entry.hash,
            )
        )
        await self._db.flush()
        return entry

    async def entries(self) -> list[AuditEntry]:
        records = await self._db.execute(
            select(AuditLogRecord).order_by(col(AuditLogRecord.sequence))
        )
        return [_to_entry(record) for record in records.scalars().all()]


def _to_entry(record: AuditLogRecord) -> AuditEntry:
    return AuditEntry(
        sequence=record.sequence,
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject=record.subject,
        details=json.loads(record.details),
        previous_hash=record.previous_hash,
        hash=record.hash,
    )
