"""Monthly range partitions of the health tables: created ahead of the samples that will land
in them and dropped whole once past retention (no row-by-row deletes, no vacuum debt)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from stride.activity.domain.health import PartitionPolicy

# One maintainer at a time per database, whichever replica runs it.
_LOCK_KEY = 0x4EA1_7400
# A partition named `<table>_pYYYYMM` holds that month (UTC).
_MONTH = re.compile(r"_p(\d{4})(\d{2})$")


def month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, start: datetime) -> str:
    return f"{table}_p{start.year:04d}{start.month:02d}"


async def maintain(
    session: AsyncSession, policies: list[PartitionPolicy], now: datetime, months_ahead: int
) -> tuple[list[str], list[str]]:
    """Creates every month's partition from the retention's edge to `months_ahead` months
    after `now`'s and drops those wholly older than the edge; returns (created, dropped).
    Commits nothing: the caller's transaction holds the lock until it commits."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    # Dropping a partition briefly locks its table against uploads: wait for them only so long.
    await session.execute(text("SET LOCAL lock_timeout = '5s'"))
    created: list[str] = []
    dropped: list[str] = []
    for policy in policies:
        edge = now - policy.keep
        existing = await _partitions(session, policy.table)
        for name, start in existing.items():
            if next_month(start) <= edge:
                await session.execute(text(f'DROP TABLE "{name}"'))
                dropped.append(name)
        month = month_start(edge)
        last = month_start(now)
        for _ in range(months_ahead):
            last = next_month(last)
        while month <= last:
            name = partition_name(policy.table, month)
            if name not in existing:
                await session.execute(
                    text(
                        f'CREATE TABLE "{name}" PARTITION OF {policy.table} FOR VALUES FROM '
                        f"('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
                    )
                )
                created.append(name)
            month = next_month(month)
    return created, dropped


async def _partitions(session: AsyncSession, table: str) -> dict[str, datetime]:
    found = await session.execute(
        text(
            "SELECT child.relname FROM pg_inherits"
            " JOIN pg_class child ON child.oid = pg_inherits.inhrelid"
            " JOIN pg_class parent ON parent.oid = pg_inherits.inhparent"
            " WHERE parent.relname = :table"
        ),
        {"table": table},
    )
    months: dict[str, datetime] = {}
    name: str
    for name in found.scalars():
        match = _MONTH.search(name)
        if match:
            months[name] = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
    return months
