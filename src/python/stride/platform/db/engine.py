"""Async SQLAlchemy engines on asyncpg, one database per service."""

from __future__ import annotations

import contextlib
import re

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

_SCHEME = re.compile(r"^postgres(ql)?(\+\w+)?://")
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def asyncpg_url(url: str) -> str:
    """SQLAlchemy's form of a Postgres URL (`postgresql+asyncpg://`)."""
    return _SCHEME.sub("postgresql+asyncpg://", url, count=1)


def plain_url(url: str) -> str:
    """asyncpg's and libpq's form of a Postgres URL (`postgresql://`)."""
    return _SCHEME.sub("postgresql://", url, count=1)


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{database}" + (f"?{query}" if query else "")


# While the database is down, a request fails in seconds rather than waiting out its deadline
# on a connection that will not come (the client retries with its request id).
CONNECT_TIMEOUT_SECONDS = 5.0
# The longest wait for a pooled connection, for work without a deadline (event consumers, jobs);
# a request waits no longer than its own deadline allows (`stride.platform.db.uow`), so a rush
# that queues for connections is served rather than taken for an outage.
POOL_TIMEOUT_SECONDS = 30.0


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return _create_async_engine(
        asyncpg_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        # A failed statement's error names its SQL, not the values bound to it: those are
        # members' emails, phone numbers and password hashes, and errors end up in the logs.
        hide_parameters=True,
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ensure_database(server_url: str, name: str) -> str:
    """Creates database `name` on the server if missing; returns its URL."""
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    connection = await asyncpg.connect(plain_url(server_url))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another process may create it between our check and CREATE.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(plain_url(server_url), name)


async def drop_database(server_url: str, name: str) -> None:
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    connection = await asyncpg.connect(plain_url(server_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
