"""A password-reset request costs the same whoever the address belongs to: the answer runs the
same statements for an address with an account as for one without (counted on a real
Postgres), and the link is made afterwards, from the event, only for an account."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest_asyncio
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.domain.model import User
from stride.identity.events.v1 import events_pb2
from stride.identity.main import MIGRATIONS
from stride.identity.service_layer import commands, password_reset
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import session_factory
from stride.platform.testing.fixtures import migrated_engine

KEYS = DataKeyring.from_spec(new_data_key_spec("k1"), "k1")


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(database_url, MIGRATIONS) as engine:
        yield engine


def statements_of(engine: AsyncEngine) -> list[str]:
    """Every statement `engine` sends from now on, as text (parameters apart)."""
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return sent


async def test_a_reset_request_does_the_same_work_for_an_address_with_no_account(
    engine: AsyncEngine,
) -> None:
    new_uow = partial(IdentityUnitOfWork, session_factory(engine), KEYS, KEYS)
    now = datetime.now(UTC)
    member = User(uuid.uuid4(), f"{uuid.uuid4().hex}@x.io", "Layla", "en", "Asia/Riyadh", True, now)
    async with new_uow() as uow:
        await uow.users.add(member, "$argon2id$stored")
        await uow.commit()
    sent = statements_of(engine)

    await password_reset.request_password_reset(
        commands.RequestPasswordReset(member.email.upper()), new_uow()
    )
    for_an_account = list(sent)
    sent.clear()
    await password_reset.request_password_reset(
        commands.RequestPasswordReset(f"nobody-{uuid.uuid4().hex}@x.io"), new_uow()
    )

    assert sent == for_an_account
    assert not any("users" in statement for statement in sent)  # Nothing looked up yet.


async def test_the_link_is_made_from_the_request_only_for_an_account(engine: AsyncEngine) -> None:
    new_uow = partial(IdentityUnitOfWork, session_factory(engine), KEYS, KEYS)
    now = datetime.now(UTC)
    member = User(uuid.uuid4(), f"{uuid.uuid4().hex}@x.io", "Layla", "ar", "Asia/Riyadh", True, now)
    async with new_uow() as uow:
        await uow.users.add(member, "$argon2id$stored")
        await uow.commit()

    async def links_and_announcements() -> tuple[int, int]:
        async with engine.connect() as connection:
            links = await connection.execute(text("SELECT count(*) FROM password_resets"))
            announced = await connection.execute(
                text("SELECT count(*) FROM outbox WHERE event_type = :type"),
                {"type": password_reset.PASSWORD_RESET_REQUESTED},
            )
            return links.scalar_one(), announced.scalar_one()

    before = await links_and_announcements()
    for address in (member.email, f"nobody-{uuid.uuid4().hex}@x.io"):
        asked = Envelope()
        asked.data.Pack(events_pb2.PasswordResetAsked(email=address))
        async with new_uow() as uow:
            await password_reset.issue_password_reset(asked, uow, clock=lambda: now)
            await uow.commit()
    after = await links_and_announcements()
    async with engine.connect() as connection:
        member_links = await connection.execute(
            text("SELECT count(*) FROM password_resets WHERE user_id = :id"), {"id": member.id}
        )

    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)  # The member's only.
    assert member_links.scalar_one() == 1
