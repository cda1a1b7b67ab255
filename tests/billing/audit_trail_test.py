"""The audit trail in Postgres: append-only, and tampering is detected by the verifier."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from stride.billing.domain.entitlements import Kind
from stride.billing.entrypoints.audit import verify
from stride.billing.service_layer import handlers
from stride.billing.service_layer.commands import GrantEntitlement
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.db.engine import create_engine

ADMIN = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))


async def grant(new_uow: partial[BillingUnitOfWork], reason: str) -> None:
    with authenticated_as(ADMIN):
        uow = new_uow()
        async with uow:
            await handlers.grant(
                uow,
                GrantEntitlement(
                    uuid.uuid4(),
                    Kind.CLASS_PACK,
                    "",
                    5,
                    None,
                    datetime.now(UTC) + timedelta(days=30),
                    reason,
                ),
            )
            await uow.commit()


async def execute(database_url: str, statement: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_grants_are_audited_and_history_cannot_be_rewritten_unnoticed(
    new_uow: partial[BillingUnitOfWork], database_url: str
) -> None:
    for reason in ("purchase 1001", "comp: instructor", "إعادة تعويض"):
        await grant(new_uow, reason)
    count, broken = await verify(database_url)
    assert (count, broken) == (3, None)

    with pytest.raises(DBAPIError, match="append-only"):
        await execute(database_url, "UPDATE audit_log SET actor = 'users/nobody'")
    with pytest.raises(DBAPIError, match="append-only"):
        await execute(database_url, "DELETE FROM audit_log WHERE sequence = 2")

    # The table's owner can switch the guard off; the chain still tells.
    await execute(database_url, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    await execute(
        database_url,
        "UPDATE audit_log SET details = replace(details, '\"credits\": 5', '\"credits\": 50') "
        "WHERE sequence = 2",
    )
    assert await verify(database_url) == (3, 2)
