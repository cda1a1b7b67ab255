"""A token sealed for one event does not open in another (over real NATS and Postgres): a
ciphertext copied from Layla's welcome event into a password-reset event for someone else, or
for her but to another address, is dead-lettered by Notifications at once — no email queued —
and what it logs and records says why without the token."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import text

from notifications.support import DATA_KEY_SPEC, EVENT_SECRET_KEY_SPEC, EVENT_SECRETS
from stride.identity.events.v1.events_pb2 import PasswordResetRequested
from stride.notifications.config import NotificationsSettings
from stride.notifications.main import build_app, durable_name
from stride.platform.db.engine import create_engine
from stride.platform.events.consumer import DEAD_LETTER_SOURCE, dead_letter_subject
from stride.platform.events.envelope import make_envelope, nats_subject
from stride.platform.events.outbox import ensure_stream
from stride.platform.events.secrets import seal_secret
from stride.platform.grpc.server import RunningServer, start
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually

RESET = "identity.password_reset.requested.v1"
TOKEN = "verify-tok-0123456789abcdef"  # What Layla's welcome email should carry.


@pytest_asyncio.fixture(scope="module")
async def notifications(
    database_url: str, nats_url: str, event_prefix: str
) -> AsyncIterator[RunningServer]:
    settings = NotificationsSettings(
        database_url=database_url,
        nats_url=nats_url,
        events_prefix=event_prefix,
        grpc_port=free_port(),
        data_keys=DATA_KEY_SPEC,
        data_key_active="test",
        event_secret_keys=SecretStr(EVENT_SECRET_KEY_SPEC),
        event_secret_key_active="events",
        shutdown_grace_seconds=1,
    )
    running = await start(await build_app(settings))
    yield running
    await running.stop()


@pytest.mark.parametrize("moved_to", ["another user", "another address"])
async def test_a_token_moved_into_another_event_is_dead_lettered_without_being_told(
    moved_to: str,
    notifications: RunningServer,
    database_url: str,
    nats_url: str,
    event_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    layla = f"users/{uuid.uuid4()}"
    welcome = seal_secret(
        EVENT_SECRETS,
        TOKEN,
        event_type="identity.user.registered.v1",
        user=layla,
        recipient="layla@example.com",
    )
    if moved_to == "another user":
        victim, address = f"users/{uuid.uuid4()}", "mallory@example.com"
    else:
        victim, address = layla, "mallory@example.com"
    forged = make_envelope(
        source="identity",
        event_type=RESET,
        subject=victim,
        payload=PasswordResetRequested(
            user=victim, email=address, language_code="en", sealed_token=welcome
        ),
    )
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        await ensure_stream(js, event_prefix, "identity")
        # The consumer makes the dead-letter stream when it starts, which may be after this.
        await ensure_stream(js, event_prefix, DEAD_LETTER_SOURCE)
        dead_letters = await js.subscribe(
            dead_letter_subject(event_prefix, durable_name(RESET)), ordered_consumer=True
        )
        await js.publish(nats_subject(event_prefix, RESET), forged.SerializeToString())
        while True:  # Each parametrized case finds its own among the stream's dead letters.
            dead = await dead_letters.next_msg(timeout=20)
            if dead.data == forged.SerializeToString():
                break
    finally:
        await connection.close()

    assert dead.headers is not None
    assert "does not open" in dead.headers["Stride-Error"]
    assert TOKEN not in dead.headers["Stride-Error"]

    async def dead_lettered_records() -> list[logging.LogRecord]:
        # Logged once the dead letter is published and the event ended, so perhaps just after
        # the dead letter came here.
        return [record for record in caplog.records if record.getMessage() == "event dead-lettered"]

    logged = await eventually(dead_lettered_records)
    assert all(record.levelno == logging.ERROR for record in logged)
    assert any("does not open" in str(record.__dict__.get("error")) for record in logged)
    assert not any(TOKEN in str(record.__dict__) for record in caplog.records)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection_to_db:
            queued = await connection_to_db.execute(
                text("SELECT count(*) FROM emails WHERE to_address = :address"),
                {"address": address},
            )
            assert queued.scalar_one() == 0
    finally:
        await engine.dispose()
