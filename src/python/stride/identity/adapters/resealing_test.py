import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.identity.adapters.mfa_repository import MfaRepository
from stride.identity.adapters.repository import UserRepository
from stride.identity.adapters.resealing import reseal_secrets
from stride.identity.adapters.signing_keys import SigningKeys
from stride.identity.domain.model import User
from stride.identity.main import MIGRATIONS
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations

OLD, NEW = new_data_key_spec("old"), new_data_key_spec("new")


def now() -> datetime:
    return datetime.now(UTC)


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await run_migrations(database_url, MIGRATIONS)
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_resealing_moves_every_secret_onto_the_new_key(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old_ring = DataKeyring.from_spec(OLD, "old")
    keys = SigningKeys(sessions, old_ring, publish_ahead=timedelta(0), clock=now)
    await keys.ensure_key()
    user = User(uuid.uuid4(), f"{uuid.uuid4().hex}@x.io", "R", "en", "Asia/Riyadh", True, now())
    async with sessions() as session, session.begin():
        await UserRepository(session).add(user, "!")
        await MfaRepository(session, old_ring).replace_pending(user.id, "JBSWY3DPEHPK3PXP", now())

    rotated = DataKeyring.from_spec(f"{OLD},{NEW}", "new")
    async with sessions() as session, session.begin():
        assert await reseal_secrets(session, rotated) >= 2
    async with sessions() as session, session.begin():
        assert await reseal_secrets(session, rotated) == 0  # Nothing left on the old key.

    new_only = DataKeyring.from_spec(NEW, "new")
    async with sessions() as session:
        factor = await MfaRepository(session, new_only).factor(user.id)
    assert factor is not None
    assert factor.secret == "JBSWY3DPEHPK3PXP"
    kid, _ = await SigningKeys(sessions, new_only, publish_ahead=timedelta(0), clock=now).current()
    assert kid
