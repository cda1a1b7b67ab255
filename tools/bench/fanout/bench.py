"""Campaign day: one campaign to N users, planned and then pushed, as the Notifications
service's planner and senders do it.

    ./pants run tools/bench/fanout:fanout -- --users 100000 --senders 2

Runs against a scratch database (on DATABASE_URL's server, or an embedded one). Users,
their preferences and phones are created first and not measured. The campaign (two variants,
50/50, the fastest pace allowed) is planned once: every recipient's notification and push is
written, and that rate is printed. Its pushes are then sent twice over: first to an instant
provider (a baseline that answers at once, so what remains is Stride's own work), then over
HTTP to a local FCM (Firebase Cloud Messaging's HTTP v1 API with its OAuth token endpoint, in
a child process); the ratio shows what talking to the provider costs (`--instant-only` skips
that phase). The peak memory of this process (planner and senders) is printed after each phase.
Figures are printed, not asserted; docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from stack.fcm import PROJECT_ID, FcmServer
from stack.up import start_postgres
from stride.notifications.adapters.fcm_push import FcmPush, ServiceAccount
from stride.notifications.adapters.tables import DeviceRecord, RecipientRecord
from stride.notifications.domain.campaigns import MAX_PER_SECOND, Audience, Content, Variant
from stride.notifications.domain.notifications import SendOutcome
from stride.notifications.main import MIGRATIONS
from stride.notifications.service_layer import campaigns, sending
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import create_engine, drop_database, ensure_database, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.local.ports import free_port

ZONES = ("Asia/Riyadh", "Asia/Dubai", "Africa/Cairo", "Europe/London", "Asia/Kolkata")
VARIANTS = [
    Variant("a", 50, {"en": Content("Spring offer", "10% off"), "ar": Content("عرض", "خصم")}),
    Variant("b", 50, {"en": Content("10% off", "This week"), "ar": Content("خصم", "أسبوع")}),
]
SEED_BATCH = 5000


class InstantPush:
    """The baseline: every push is taken at once, without a network."""

    async def send(self, token: str, title: str, body: str, data: Mapping[str, str]) -> SendOutcome:
        return SendOutcome.SENT


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/fanout", description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=2, help="sender loops, as replicas run")
    parser.add_argument(
        "--instant-only",
        action="store_true",
        help="send to the instant provider only (Stride's own cost), not to the local FCM",
    )
    return parser.parse_args(argv)


def peak_memory_mib() -> float:
    """This process's own peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux keeps
    that across exec, and `./pants run` forks the bench from pantsd (or from Pants itself when
    pantsd is off), so ru_maxrss reads the 400-550 MiB Pants held at the fork whatever the
    bench does."""
    status = Path("/proc/self/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) / 1024


async def seed(new_uow: partial[NotificationsUnitOfWork], count: int, now: datetime) -> None:
    """Users who opted into marketing pushes, in several zones and both languages, with a
    phone each."""
    for first in range(0, count, SEED_BATCH):
        users = [uuid.uuid4() for _ in range(min(SEED_BATCH, count - first))]
        async with new_uow() as uow:
            await uow.session.execute(
                insert(RecipientRecord),
                [
                    {
                        "user_id": user,
                        "email": f"{user.hex}@example.com",
                        "language": ("ar", "en")[index % 2],
                        "time_zone": ZONES[index % len(ZONES)],
                        "marketing_push": True,
                        "marketing_email": False,
                        "updated_at": now,
                    }
                    for index, user in enumerate(users)
                ],
            )
            await uow.session.execute(
                insert(DeviceRecord),
                [
                    {
                        "id": uuid.uuid4(),
                        "user_id": user,
                        "token": f"fcm-{user.hex}",
                        "platform": ("android", "ios")[index % 2],
                        "created_at": now,
                    }
                    for index, user in enumerate(users)
                ],
            )
            await uow.commit()


class Cpu:
    """CPU seconds spent during a phase by this process and by the Postgres server (its
    processes serving this database, and its background ones): with both on the same cores,
    they show which side bounds the rate."""

    def __init__(self, new_uow: partial[NotificationsUnitOfWork]) -> None:
        self._new_uow = new_uow
        self._bench = time.process_time()
        self._postgres: dict[int, float] = {}

    async def start(self) -> None:
        self._bench = time.process_time()
        self._postgres = {pid: process_cpu(pid) for pid in await self._server_pids()}

    async def report(self) -> str:
        """Spent since `start`: what this process, and what Postgres, was on a core for."""
        bench = time.process_time() - self._bench
        # A server process that started during the phase spent all it did in it.
        postgres = sum(
            process_cpu(pid) - self._postgres.get(pid, 0.0) for pid in await self._server_pids()
        )
        return f"cpu: bench {bench:5.1f} s, postgres {postgres:5.1f} s"

    async def _server_pids(self) -> list[int]:
        async with self._new_uow() as uow:
            rows = await uow.session.execute(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() OR datname IS NULL"
                )
            )
        return list(rows.scalars())


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of a process on this machine (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # After the command name, which may hold spaces.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def send(
    name: str, new_uow: partial[NotificationsUnitOfWork], push: sending.Push, senders: int
) -> float:
    """Sends every push as `senders` replicas would; pushes per second."""
    later = datetime.now(UTC) + timedelta(days=1)  # Past the pace: every push is due.
    cpu = Cpu(new_uow)
    await cpu.start()
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(sending.send_due(new_uow, push, clock=lambda: later) for _ in range(senders))
    )
    seconds = time.perf_counter() - started
    rate = sum(counts) / seconds
    print(
        f"send: {name:<28} {sum(counts):7d} pushes in {seconds:6.1f} s  {rate:8.1f} /s"
        f"   peak memory {peak_memory_mib():6.1f} MiB   {await cpu.report()}"
    )
    return rate


async def send_over_http(
    new_uow: partial[NotificationsUnitOfWork], fcm: FcmServer, senders: int, baseline: float
) -> None:
    """The same pushes again (put back in line, not measured), to the local FCM."""
    async with new_uow() as uow:
        await uow.session.execute(text("UPDATE deliveries SET state = 'pending'"))
        await uow.commit()
    push = FcmPush(fcm.api_base, PROJECT_ID, ServiceAccount.from_json(fcm.key_json))
    try:
        over_http = await send("local FCM over HTTP", new_uow, push, senders)
    finally:
        await push.close()
    print(f"local FCM ÷ baseline throughput: {over_http / baseline:.2f}")


async def bench(server_url: str, fcm: FcmServer | None, args: argparse.Namespace) -> None:
    name = f"bench_fanout_{uuid.uuid4().hex[:8]}"
    database_url = await ensure_database(server_url, name)
    await run_migrations(database_url, MIGRATIONS)
    engine = create_engine(database_url, pool_size=args.senders + 2)
    data_keys = DataKeyring.from_spec(new_data_key_spec("bench"), "bench")
    new_uow = partial(NotificationsUnitOfWork, session_factory(engine), data_keys)
    now = datetime.now(UTC)
    try:
        started = time.perf_counter()
        await seed(new_uow, args.users, now)
        print(
            f"seeded {args.users} users with a phone each in {time.perf_counter() - started:.1f} s"
        )
        print(f"peak memory before the campaign: {peak_memory_mib():6.1f} MiB")
        admin = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))
        with authenticated_as(admin):
            created = await campaigns.create(
                new_uow(), "Bench", Audience(), VARIANTS, None, MAX_PER_SECOND
            )
        cpu = Cpu(new_uow)
        await cpu.start()
        started = time.perf_counter()
        planned = await campaigns.plan_due(new_uow)
        seconds = time.perf_counter() - started
        print(
            f"plan: {planned:7d} recipients in {seconds:6.1f} s  {planned / seconds:8.1f} /s"
            f"   peak memory {peak_memory_mib():6.1f} MiB   {await cpu.report()}"
        )
        baseline = await send("instant provider (baseline)", new_uow, InstantPush(), args.senders)
        if fcm is not None:
            await send_over_http(new_uow, fcm, args.senders, baseline)
        with authenticated_as(admin):
            report = await campaigns.get(new_uow(), created.campaign.id)
        for stats in report.stats:
            print(
                f"variant {stats.key}: {stats.recipients} recipients,"
                f" {stats.pushes_sent} pushes sent, {stats.pushes_failed} failed"
            )
    finally:
        await engine.dispose()
        await drop_database(server_url, name)


def serve_fcm(server: FcmServer) -> None:
    web.run_app(server.app, host="127.0.0.1", port=server.port, print=None, access_log=None)


def wait_for(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="stride-bench-") as scratch:
        fcm = None if args.instant_only else FcmServer()
        if fcm is not None:
            # Its own process: the provider's work is not this process's CPU or memory.
            provider = multiprocessing.get_context("fork").Process(target=serve_fcm, args=(fcm,))
            provider.start()
            stack.callback(provider.join)
            stack.callback(provider.terminate)
            wait_for(fcm.port)
        data = Path(scratch)
        data.chmod(0o755)
        server_url = start_postgres(data, free_port(), stack)
        print(f"one campaign to {args.users} users, {args.senders} senders")
        asyncio.run(bench(server_url, fcm, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
