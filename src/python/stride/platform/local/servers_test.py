"""The embedded servers, started for real (whatever DATABASE_URL / NATS_URL say)."""

from pathlib import Path

import asyncpg
import nats

from stride.platform.local.nats import EmbeddedNats
from stride.platform.local.postgres import EmbeddedPostgres
from stride.platform.testing.fixtures import scratch_dir


async def test_postgres_keeps_data_across_restarts() -> None:
    with scratch_dir("postgres") as scratch:
        await _restart_keeps_data(scratch / "pg")


async def _restart_keeps_data(data: Path) -> None:
    with EmbeddedPostgres(data, durable=False) as server:
        connection = await asyncpg.connect(server.url)
        await connection.execute("CREATE TABLE kept (value text); INSERT INTO kept VALUES ('yes')")
        await connection.close()
        port = server.port
    with EmbeddedPostgres(data, port, durable=False) as server:
        connection = await asyncpg.connect(server.url)
        assert await connection.fetchval("SELECT value FROM kept") == "yes"
        await connection.close()


async def test_nats_jetstream_survives_a_kill(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    try:
        connection = await nats.connect(server.url)
        js = connection.jetstream()
        await js.add_stream(name="KEPT", subjects=["kept.>"])
        await js.publish("kept.one", b"payload")
        await connection.close()

        server.kill()
        server.start()

        connection = await nats.connect(server.url)
        info = await connection.jetstream().stream_info("KEPT")
        assert info.state.messages == 1
        await connection.close()
    finally:
        server.stop()
