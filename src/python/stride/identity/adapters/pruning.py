"""What Identity keeps only for a while, deleted with the platform's batching (a batch per short
transaction, rows another transaction holds left for the next run).

Failure counts go once a quiet hour has forgotten them (they name emails and addresses), spent
nonces once past their expiry. Emailed links (verification, password reset, email change and its
revert) stay until a while after they expire, so a late click is told the link expired rather
than that it never existed; then they go, with the addresses they hold."""

from __future__ import annotations

from datetime import datetime, timedelta

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
from stride.platform.db.pruning import PRUNE_BATCH, delete_where_in_batches

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
    failures = (SignInFailureRecord, (col(SignInFailureRecord.key),), forgotten)
    spent = col(SpentSignInNonceRecord.expires_at) <= now
    nonces = (SpentSignInNonceRecord, (col(SpentSignInNonceRecord.nonce_hash),), spent)
    links = [
        (table, (col(table.token_hash),), col(table.expires_at) < now - links_kept_after_expiry)
        for table in _LINKS
    ]
    pruned = 0
    for table, key, condition in [failures, nonces, *links]:
        pruned += await delete_where_in_batches(sessions, table, key, condition, batch_size)
    return pruned
