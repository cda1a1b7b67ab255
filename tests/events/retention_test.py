"""A service started on an existing deployment brings retention to it (ADR 0009): its event
stream and the dead-letter stream, created before without limits, get the configured max_age
and max_bytes, and an old published outbox row is pruned."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import nats
from nats.js.api import StorageType, StreamConfig
from pydantic import SecretStr
from sqlalchemy import text

from stride.notifications.config import NotificationsSettings
from stride.notifications.main import MIGRATIONS, build_app
from stride.platform.crypto.sealing import new_data_key_spec
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.events.consumer import DEAD_LETTER_SOURCE
from stride.platform.events.envelope import stream_name, stream_subjects
from stride.platform.events.outbox import DAY_SECONDS, OutboxRecord
from stride.platform.grpc.server import start
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually

MAX_AGE, DEAD_LETTER_MAX_AGE, MAX_BYTES = 2 * DAY_SECONDS, 3 * DAY_SECONDS, 64 << 20


async def test_streams_made_without_limits_get_them_and_old_rows_go(
    database_url: str, nats_url: str, event_prefix: str
) -> None:
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    for source in ("notifications", DEAD_LETTER_SOURCE):  # As an earlier release made them.
        await js.add_stream(
            StreamConfig(
                name=stream_name(event_prefix, source),
                subjects=stream_subjects(event_prefix, source),
                storage=StorageType.FILE,
            )
        )
    await run_migrations(database_url, MIGRATIONS)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    long_ago = datetime.now(UTC) - timedelta(days=30)
    old_row = OutboxRecord(
        id=uuid.uuid4(),
        event_type="notifications.test.v1",
        payload=b"",
        created_at=long_ago,
        published_at=long_ago,
    )
    async with sessions() as session, session.begin():
        session.add(old_row)
    settings = NotificationsSettings(
        database_url=database_url,
        nats_url=nats_url,
        events_prefix=event_prefix,
        grpc_port=free_port(),
        data_keys=new_data_key_spec("test"),
        data_key_active="test",
        event_secret_keys=SecretStr(new_data_key_spec("events")),
        event_secret_key_active="events",
        stream_max_age_seconds=MAX_AGE,
        dead_letter_max_age_seconds=DEAD_LETTER_MAX_AGE,
        stream_max_bytes=MAX_BYTES,
        inbox_retention_seconds=MAX_AGE,
        shutdown_grace_seconds=1,
    )

    async def limits(source: str) -> tuple[float | None, int | None]:
        config = (await js.stream_info(stream_name(event_prefix, source))).config
        return config.max_age, config.max_bytes

    async def limited() -> bool:
        return await limits("notifications") == (MAX_AGE, MAX_BYTES) and await limits(
            DEAD_LETTER_SOURCE
        ) == (DEAD_LETTER_MAX_AGE, MAX_BYTES)

    async def old_row_pruned() -> bool:
        async with sessions() as session:
            found = await session.execute(
                text("SELECT count(*) FROM outbox WHERE id = :id"), {"id": old_row.id}
            )
            return found.scalar_one() == 0

    service = await start(await build_app(settings))
    try:
        await eventually(limited)
        await eventually(old_row_pruned)
    finally:
        await service.stop()
        await connection.close()
        await engine.dispose()
