"""Stores the audit chain; appends under one lock so the chain never forks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.billing.adapters.tables import AuditLogRecord
from stride.billing.domain.audit import AuditEntry, Decision, chain

_APPEND_LOCK = 0xB111_A0D1  # pg advisory lock: appends to the chain happen one at a time.


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def append(
        self, at: datetime, actor: str, action: str, subject: str, details: Mapping[str, Any]
    ) -> AuditEntry:
        """In the caller's transaction: the entry commits with the decision it records."""
        (entry,) = await self.append_all(at, [Decision(actor, action, subject, details)])
        return entry

    async def append_all(self, at: datetime, decisions: Sequence[Decision]) -> list[AuditEntry]:
        """Entries for `decisions`, in order, in the caller's transaction. The chain's tail is
        locked until it ends, so a batch takes the lock once: call it last."""
        if not decisions:
            return []
        await self.lock_tail()
        last = await self._db.execute(
            select(AuditLogRecord).order_by(col(AuditLogRecord.sequence).desc()).limit(1)
        )
        previous = last.scalar_one_or_none()
        entries = chain(_to_entry(previous) if previous else None, at, decisions)
        self._db.add_all(
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
            for entry in entries
        )
        await self._db.flush()
        return entries

    async def lock_tail(self) -> None:
        """Holds the chain's tail until this transaction ends (again is harmless)."""
        await self._db.execute(text(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})"))

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
