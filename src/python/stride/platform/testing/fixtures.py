"""Shared pytest fixtures: real Postgres and NATS, isolated per test module.

`DATABASE_URL` / `NATS_URL` point the tests at servers you already run; otherwise each test
process starts embedded ones. Every module gets its own database and its own NATS subject
prefix, so test files run in parallel processes without seeing each other's data.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stride.platform.db.engine import create_engine, drop_database, ensure_database, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.local.nats import EmbeddedNats
from stride.platform.local.postgres import EmbeddedPostgres
from stride.platform.local.stripe_emulator import LocalStripe


@contextmanager
def scratch_dir(name: str) -> Iterator[Path]:
    # World-traversable: an embedded Postgres may run as another user (see local.postgres).
    path = Path(tempfile.mkdtemp(prefix=f"stride-{name}-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with scratch_dir("postgres") as scratch, EmbeddedPostgres(
        scratch / "data", durable=False
    ) as server:
        yield server.url


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    if url := os.environ.get("NATS_URL"):
        yield url
        return
    with scratch_dir("nats") as scratch, EmbeddedNats(scratch) as server:
        yield server.url


@pytest.fixture(scope="session")
def stripe_api_base() -> Iterator[str]:
    """A localstripe emulator for this test process; the official library is pointed at it."""
    with scratch_dir("stripe") as scratch, LocalStripe(scratch) as emulator:
        yield emulator.api_base


@pytest.fixture(scope="module")
def embedded_nats() -> Iterator[EmbeddedNats]:
    """A private NATS server this module may kill and restart."""
    with scratch_dir("nats") as scratch, EmbeddedNats(scratch) as server:
        yield server


def _module_slug(request: pytest.FixtureRequest) -> str:
    name = request.module.__name__.rsplit(".", 1)[-1]
    return re.sub(r"[^a-z0-9]", "_", name.lower())[:30]


@pytest_asyncio.fixture(scope="module")
async def database_url(
    postgres_server_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A fresh, empty database for this test module, dropped afterwards."""
    name = f"t_{_module_slug(request)}_{secrets.token_hex(4)}"
    url = await ensure_database(postgres_server_url, name)
    yield url
    await drop_database(postgres_server_url, name)


@pytest_asyncio.fixture(scope="module")
async def platform_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on this module's database, with the platform's tables (outbox, inbox,
    stored responses) and no service's."""
    await run_migrations(database_url)
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest_asyncio.fixture(scope="module")
async def event_prefix(nats_url: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A NATS subject and stream namespace of this module's own; its streams are removed after."""
    prefix = f"t{secrets.token_hex(4)}"
    yield prefix
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        for stream in await js.streams_info():
            if stream.config.name and stream.config.name.startswith(prefix.upper() + "_"):
                await js.delete_stream(stream.config.name)
    finally:
        await connection.close()


@asynccontextmanager
async def migrated_engine(database_url: str, migrations: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, migrated to a service's newest revisions."""
    await run_migrations(database_url, migrations)
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()
