"""A database that is down is told apart from a statement that is wrong, on a real Postgres."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from stride.platform.db.engine import create_engine
from stride.platform.db.errors import database_unavailable
from stride.platform.local.postgres import EmbeddedPostgres
from stride.platform.testing.fixtures import scratch_dir


@pytest.fixture
def server() -> Iterator[EmbeddedPostgres]:
    with (
        scratch_dir("postgres") as scratch,
        EmbeddedPostgres(scratch / "data", durable=False) as postgres,
    ):
        yield postgres


async def failure(url: str, statement: str) -> BaseException:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    except Exception as error:  # What was raised is what is under test.
        return error
    finally:
        await engine.dispose()
    raise AssertionError(f"{statement!r} did not fail")


async def test_a_stopped_server_is_unavailable(server: EmbeddedPostgres) -> None:
    server.stop()
    assert database_unavailable(await failure(server.url, "SELECT 1"))


async def test_a_connection_killed_under_a_statement_is_unavailable(
    server: EmbeddedPostgres,
) -> None:
    engine = create_engine(server.url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            server.kill()
            with pytest.raises(Exception) as raised:  # noqa: PT011 - classified below.
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert database_unavailable(raised.value)


@pytest.mark.parametrize(
    "statement",
    ["SELEKT 1", "SELECT 1/0", "SELECT * FROM no_such_table"],
    ids=["syntax", "division by zero", "missing table"],
)
async def test_wrong_statements_are_not(server: EmbeddedPostgres, statement: str) -> None:
    assert not database_unavailable(await failure(server.url, statement))


def test_other_failures_that_touch_the_network_or_files_are_not() -> None:
    """A font that would not open, a provider refusing a connection: bugs or other outages."""
    assert not database_unavailable(FileNotFoundError("receipt.ttf"))
    assert not database_unavailable(ConnectionRefusedError(111, "refused"))
