"""A unit of work serving a request keeps to the request's deadline, on a real Postgres: it
waits for a pooled connection only until then."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from stride.platform.context import ContextScope
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.uow import UnitOfWork
from stride.platform.deadlines import deadline_scope
from stride.platform.errors import Unavailable


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=1)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS decisions (id int)"))
        await connection.execute(text("TRUNCATE decisions"))
    yield engine
    await engine.dispose()


async def decide(engine: AsyncEngine, decision: int) -> None:
    uow = UnitOfWork(session_factory(engine), "test")
    async with uow:
        await uow.session.execute(text("INSERT INTO decisions VALUES (:id)"), {"id": decision})
        await uow.commit()


async def decisions(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        return list((await connection.execute(text("SELECT id FROM decisions"))).scalars())


def due_in(seconds: float) -> ContextScope[float | None]:
    return deadline_scope(asyncio.get_running_loop().time() + seconds)


async def test_a_request_waits_for_a_pooled_connection_only_until_its_deadline(
    engine: AsyncEngine,
) -> None:
    # Every pooled connection (one, and as many overflowing) is taken.
    async with engine.connect(), engine.connect():
        with due_in(0.2), pytest.raises(Unavailable):
            await decide(engine, 1)
        # A job without a deadline waits, and gets its connection once one is given back.
        waiting = asyncio.create_task(decide(engine, 2))
    await waiting
    with due_in(30):
        await decide(engine, 3)
    assert sorted(await decisions(engine)) == [2, 3]
