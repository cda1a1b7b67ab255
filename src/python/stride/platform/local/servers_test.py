"""The embedded servers, started for real (whatever DATABASE_URL / NATS_URL say)."""

import socket
from pathlib import Path
from typing import Any

import asyncpg
import nats
import stripe

from stride.platform.local.nats import EmbeddedNats
from stride.platform.local.postgres import EmbeddedPostgres
from stride.platform.local.stripe_emulator import LocalStripe
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


async def test_nats_whose_ports_were_taken_before_it_bound_them_starts_on_others(
    tmp_path: Path,
) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    taken = (server.port, server.monitor_port)
    with socket.socket() as squatter, socket.socket() as other:
        squatter.bind(("127.0.0.1", taken[0]))
        squatter.listen()
        other.bind(("127.0.0.1", taken[1]))
        other.listen()
        server.start()
    try:
        assert server.port != taken[0]
        assert server.monitor_port != taken[1]
        connection = await nats.connect(server.url)
        await connection.close()
    finally:
        server.stop()


def test_localstripe_keeps_its_store_across_restarts(tmp_path: Path) -> None:
    store = tmp_path / "stripe" / "store.pickle"
    with LocalStripe(tmp_path, store=store) as emulator:
        client = stripe.StripeClient("sk_test_kept", base_addresses={"api": emulator.api_base})
        customer = client.v1.customers.create(params={"metadata": {"member": "m-1"}})
        card: Any = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
        method = client.v1.payment_methods.create(params={"type": "card", "card": card})
        client.v1.payment_methods.attach(str(method.id), params={"customer": str(customer.id)})
        port = emulator.port

    with LocalStripe(tmp_path, port, store=store):
        kept = client.v1.customers.retrieve(str(customer.id))
        cards = client.v1.payment_methods.list(
            params={"customer": str(customer.id), "type": "card"}
        )
    assert kept.to_dict()["metadata"] == {"member": "m-1"}
    assert [str(found.id) for found in cards.data] == [str(method.id)]
