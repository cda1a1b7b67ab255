"""Emailed links go once they have been expired for longer than they are kept."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stride.identity.adapters.opaque_tokens import new_opaque_token
from stride.identity.adapters.pruning import prune_identity_tables
from stride.identity.domain.model import User
from stride.identity.main import MIGRATIONS
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import session_factory
from stride.platform.testing.fixtures import migrated_engine

KEYS = DataKeyring.from_spec(new_data_key_spec("k1"), "k1")
KEPT = timedelta(days=7)
TABLES = ("email_verifications", "password_resets", "email_changes", "email_change_reverts")


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(database_url, MIGRATIONS) as engine:
        yield engine


async def test_links_go_once_expired_for_longer_than_they_are_kept(engine: AsyncEngine) -> None:
    new_uow = partial(IdentityUnitOfWork, session_factory(engine), KEYS, KEYS)
    now = datetime.now(UTC)
    user = User(uuid.uuid4(), f"{uuid.uuid4().hex}@x.io", "Layla", "en", "Asia/Riyadh", False, now)
    async with new_uow() as uow:
        await uow.users.add(user, "$argon2id$stored")
        # Each kind: one long expired, one expired lately (kept, to say "expired"), one live.
        for expires_at in (now - KEPT - timedelta(minutes=1), now - timedelta(days=1), now):
            await uow.users.add_email_verification(new_opaque_token()[1], user, expires_at)
            await uow.users.add_password_reset(new_opaque_token()[1], user.id, expires_at)
            await uow.users.add_email_change(new_opaque_token()[1], user.id, "n@x.io", expires_at)
            await uow.users.add_email_change_revert(
                new_opaque_token()[1], user.id, user.email, expires_at
            )
        await uow.commit()

    pruned = await prune_identity_tables(session_factory(engine), now, KEPT)

    async with engine.connect() as connection:
        left: dict[str, int] = {
            table: (
                await connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE user_id = :id"),  # noqa: S608
                    {"id": user.id},
                )
            ).scalar_one()
            for table in TABLES
        }
    assert pruned == 4
    assert left == dict.fromkeys(TABLES, 2)
