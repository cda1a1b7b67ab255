"""What a failed statement leaves in the logs, on a real Postgres: the statement, never the
values bound to it (a member's email, phone number or password hash)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from stride.platform.db.engine import create_engine
from stride.platform.observability.logging import JsonFormatter

EMAIL = "layla.haddad@example.com"
PHONE = "+966501234567"


@pytest.mark.parametrize(
    "statement",
    [
        # Only the bound parameters name the member: the error is about another column.
        "INSERT INTO contacts VALUES (42, :email, :phone)",
        # Postgres's own DETAIL quotes the values (`Key (email)=(…) already exists`).
        "INSERT INTO contacts VALUES (1, :email, :phone), (1, :email, :phone)",
        # asyncpg quotes an argument it cannot encode.
        "INSERT INTO contacts VALUES (CAST(:phone AS int), :email, 'x')",
    ],
    ids=["bound parameters", "detail", "argument"],
)
async def test_a_failed_statement_is_logged_without_the_values_it_carried(
    database_url: str, caplog: pytest.LogCaptureFixture, statement: str
) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS contacts, owners"))
            await connection.execute(text("CREATE TABLE owners (id int PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO owners VALUES (1)"))
            await connection.execute(
                text(
                    "CREATE TABLE contacts (owner int REFERENCES owners (id),"
                    " email text UNIQUE, phone text)"
                )
            )
        with pytest.raises(Exception) as raised:  # noqa: PT011 - what it says is under test.
            async with engine.begin() as connection:
                await connection.execute(text(statement), {"email": EMAIL, "phone": PHONE})
    finally:
        await engine.dispose()
    # As the gRPC interceptor logs an unexpected error, in the services' JSON log format.
    with caplog.at_level(logging.ERROR, logger="stride.rpc"):
        logging.getLogger("stride.rpc").error("unhandled error in %s", "/t", exc_info=raised.value)
    logged = JsonFormatter("test").format(caplog.records[-1])
    assert "INSERT INTO contacts" in logged  # What failed is still there to debug from.
    assert EMAIL not in logged
    assert PHONE not in logged
