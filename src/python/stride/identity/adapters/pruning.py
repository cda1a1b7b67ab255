"""What Identity keeps only for a while, deleted with the platform's batching (a batch per short
transaction, rows another transaction holds left for the next run).

Failure counts go once a quiet hour has forgotten them (they name emails and addresses), spent
nonces once past their expiry. Emailed links (verification, password reset, email change and its
revert) stay until a while after they expire, so a late click is told the link expired rather
than that it never existed; then they go, with the addresses they hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from stride.identity.adapters.tables import (
    EmailChangeRecord,
    EmailChangeRevertRecord,
    EmailVerificationRecord,
    PasswordResetRecord,
    SignInFailureRecord,
    SpentSignInNonceRecord,
)
from stride.identity.domain.throttling import FORGET_AFTER
from stride.platform.db.pruning import PRUNE_BATCH, delete_in_batches

_LINKS = (EmailVerificationRecord, PasswordResetRecord, EmailChangeRecord, EmailChangeRevertRecord)


async def prune_identity_tables(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
    links_kept_after_expiry: timedelta,
    batch_size: int = PRUNE_BATCH,
) -> int:
    """Deletes forgotten failure counts, expired spent nonces and links expired longer than
    `links_kept_after_expiry`; how many rows went."""
    forgotten = col(SignInFailureRecord.last_failure_at) < now - FORGET_AFTER
    pruned = await _delete(sessions, SignInFailureRecord, "key", forgotten, batch_size)
    spent = col(SpentSignInNonceRecord.expires_at) <= now
    pruned += await _delete(sessions, SpentSignInNonceRecord, "nonce_hash", spent, batch_size)
    for table in _LINKS:
        expired = col(table.expires_at) < now - links_kept_after_expiry
        pruned += await _delete(sessions, table, "token_hash", expired, batch_size)
    return pruned


async def _delete(
    sessions: async_sessionmaker[AsyncSession],
    table: Any,
    key_name: str,
    condition: Any,
    batch_size: int,
) -> int:
    key = col(getattr(table, key_name))
    batch = select(key).where(condition).limit(batch_size).with_for_update(skip_locked=True)
    return await delete_in_batches(
        sessions, delete(table).where(key.in_(batch.scalar_subquery())), batch_size
    )
