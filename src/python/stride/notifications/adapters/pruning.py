"""What Notifications keeps only for a while, deleted with the platform's batching: send counts
of windows long over, and phone codes once expired (neither is needed past its window or
code)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from stride.notifications.adapters.tables import PhoneCodeRecord, SendCountRecord
from stride.platform.db.pruning import delete_where_in_batches

COUNTS_KEPT = timedelta(days=2)  # Past every daily window, whatever the clock skew.


async def prune_send_limits(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Deletes counts of windows that started over COUNTS_KEPT ago and expired codes; how many
    rows went."""
    over = col(SendCountRecord.window_start) < now - COUNTS_KEPT
    key = (col(SendCountRecord.key_hash), col(SendCountRecord.window_start))
    pruned = await delete_where_in_batches(sessions, SendCountRecord, key, over)
    expired = col(PhoneCodeRecord.expires_at) <= now
    codes = (col(PhoneCodeRecord.user_id),)
    return pruned + await delete_where_in_batches(sessions, PhoneCodeRecord, codes, expired)
