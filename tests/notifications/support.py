"""What the Notifications suites share: a local FCM, and units of work on the module's
migrated database (conftest.py makes them fixtures of every module here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest_asyncio

from stack.fcm import FcmServer, running_fcm
from stride.notifications.main import MIGRATIONS
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations


@pytest_asyncio.fixture(scope="module")
async def fcm() -> AsyncIterator[FcmServer]:
    async with running_fcm() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def new_uow(database_url: str) -> AsyncIterator[partial[NotificationsUnitOfWork]]:
    await run_migrations(database_url, MIGRATIONS)
    engine = create_engine(database_url)
    yield partial(NotificationsUnitOfWork, session_factory(engine))
    await engine.dispose()
