"""Send counts go two days after their window, phone codes once expired; the rest stays."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stride.notifications.adapters.pruning import COUNTS_KEPT, prune_send_limits
from stride.notifications.main import MIGRATIONS
from stride.platform.db.engine import session_factory
from stride.platform.testing.fixtures import migrated_engine


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(database_url, MIGRATIONS) as engine:
        yield engine


async def test_counts_of_windows_long_over_and_expired_codes_go(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    windows = (now - COUNTS_KEPT - timedelta(hours=1), now - timedelta(hours=1))
    codes = {uuid.uuid4(): now - timedelta(seconds=1), uuid.uuid4(): now + timedelta(minutes=5)}
    async with engine.begin() as connection:
        for window_start in windows:
            await connection.execute(
                text("INSERT INTO send_counts VALUES (:key, :start, 3)"),
                {"key": b"k" * 32, "start": window_start},
            )
        for user_id, expires_at in codes.items():
            await connection.execute(
                text(
                    "INSERT INTO phone_codes (user_id, phone_number, code_hash, attempts,"
                    " expires_at, created_at) VALUES (:user, '+966500000000', :hash, 0,"
                    " :expires, now())"
                ),
                {"user": user_id, "hash": b"h" * 32, "expires": expires_at},
            )

    pruned = await prune_send_limits(session_factory(engine), now)

    async with engine.connect() as connection:
        starts = (await connection.scalars(text("SELECT window_start FROM send_counts"))).all()
        users = (await connection.scalars(text("SELECT user_id FROM phone_codes"))).all()
    assert pruned == 2
    assert starts == [windows[1]]
    assert users == [user_id for user_id, expires_at in codes.items() if expires_at > now]
