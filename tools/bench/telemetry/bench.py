"""Health telemetry: how fast the Activity service ingests phones' samples, what one hour of
1 Hz heart rate costs to upload, how fast a year of daily figures reads with 1,000 members
loaded, and the service's peak memory (ADR 0014).

    ./pants run tools/bench/telemetry:telemetry -- --seconds 60

Starts a scratch stack (embedded Postgres, NATS; Identity and Activity as processes; Envoy)
and signs the demo member in. Then:

1. Sustained ingestion through the real path: `--clients` gRPC clients upload batches of an
   hour of 1 Hz heart rate (3,600 samples, serialized before the clock starts) for
   `--seconds`, each on days of its own (the service validates, dedupes, COPYs and merges
   rollups); samples/s stored. Meanwhile a
   Strava webhook event is POSTed through Envoy every 50 ms: p50 and p99 of its
   acknowledgement.
2. The baseline, in the same run: the same number of the same rows COPied straight into the
   same table with asyncpg (binary COPY, batches of 3,600), rows/s; the ratio of the two.
3. The latency of one-hour uploads (3,600 samples) one after another: p50 and p99.
4. 1,000 members' year of daily rollups (heart rate and steps, from a watch and a phone) and
   the demo member's steps loaded with COPY, then a year of the demo member's daily steps
   read through Envoy (REST, as the app reads it) `--reads` times: p50 and p95; then 52 weeks
   of the member's trends (their local days from the hourly figures), as many times.
5. The Activity process's peak resident memory (VmHWM).

With the rates, the CPU time the Activity process, Postgres and the load generator spent per
sample stored during step 1: unlike the rates, these hardly change with what else runs on the
machine, and they say which of the three limits ingestion.

The load generator runs on the same machine and cores as the service. Figures are printed,
not asserted; the lead records them in docs/performance.md from a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from bench.common import get, scratch_servers, signed_in_member, start_edge
from stack.seed import confirm_demo_users, sign_up_demo_users
from stack.up import HEALTH_TIMEOUT_SECONDS, serving
from stride.activity.adapters.health_repository import (
    DEVICE_CODES,
    KIND_CODES,
    ROLLUP_TABLES,
    SAMPLE_COLUMNS,
)
from stride.activity.domain.health import DeviceType, HealthKind, Resolution
from stride.activity.v1 import activity_service_pb2 as pb
from stride.activity.v1 import activity_service_pb2_grpc as pb_grpc
from stride.identity.config import IdentitySettings
from stride.platform.config import load_settings
from stride.platform.local.process import ManagedProcess

HOUR_SAMPLES = 3600
WATCH = pb.HealthDevice(
    type=pb.HEALTH_DEVICE_TYPE_WATCH, manufacturer="Apple Inc.", model="Watch7,1", name="Bench"
)
ROLLUP_COLUMNS = (
    "member_id",
    "kind",
    "bucket_start",
    "device_type",
    "sample_count",
    "total",
    "minimum",
    "maximum",
    *(f"zone{n}_seconds" for n in range(1, 6)),
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/telemetry", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="sustained ingestion")
    parser.add_argument("--clients", type=int, default=2, help="concurrent uploaders")
    parser.add_argument("--uploads", type=int, default=50, help="one-hour uploads timed")
    parser.add_argument("--members", type=int, default=1000, help="members with a year of days")
    parser.add_argument("--reads", type=int, default=200, help="year-of-days reads timed")
    return parser.parse_args(argv)


def hour_starts(first_day: int, step: int, now: datetime) -> Iterator[datetime]:
    """Hours of the days `first_day`, `first_day + step`, … before today (UTC), within the
    90 days raw samples keep."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(first_day + 1, 89, step):
        for hour in range(24):
            yield today - timedelta(days=day) + timedelta(hours=hour)


def hour_of_heart_rate(start: datetime, prefix: str) -> list[pb.HealthSample]:
    """A reading a second from `start`, built from epoch seconds (FromDatetime, in Python,
    would take the load generator's share of the two cores)."""
    first = int(start.timestamp())
    label = f"{prefix}-{start:%Y%m%d%H}"
    return [
        pb.HealthSample(
            id=f"{label}-{second}",
            kind=pb.HEALTH_KIND_HEART_RATE,
            value=90 + second % 80,
            unit="count/min",
            start_time=Timestamp(seconds=first + second),
        )
        for second in range(HOUR_SAMPLES)
    ]


def raw_rows(member: uuid.UUID, start: datetime) -> list[tuple[object, ...]]:
    """The rows the service stores for `hour_of_heart_rate(start, …)`."""
    kind = KIND_CODES[HealthKind.HEART_RATE]
    rows: list[tuple[object, ...]] = []
    for second in range(HOUR_SAMPLES):
        at = start + timedelta(seconds=second)
        rows.append((member, at, at, kind, float(90 + second % 80), 1, f"b-{second}"))
    return rows


async def webhook_acks(webhook_url: str, subscription_id: int, until: float) -> list[float]:
    """Strava webhook events POSTed through the edge every 50 ms until `until` (monotonic),
    as Strava sends them; how long each took to be acknowledged."""
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:
        while (began := time.monotonic()) < until:
            event = {
                "aspect_type": "create",
                "event_time": int(time.time()),
                "object_id": len(latencies) + 1,
                "object_type": "activity",
                "owner_id": 424242,  # An athlete no member connected: the check, then the ack.
                "subscription_id": subscription_id,
                "updates": {},
            }
            async with session.post(webhook_url, json=event) as reply:
                await reply.read()
                if reply.status != 200:
                    raise RuntimeError(f"the webhook answered {reply.status}")
            latencies.append(time.monotonic() - began)
            await asyncio.sleep(max(0.0, began + 0.05 - time.monotonic()))
    return latencies


def upload_request(member: str, start: datetime, prefix: str, source: str) -> bytes:
    """An hour's upload, serialized."""
    request = pb.BatchUploadHealthSamplesRequest(
        parent=member, source=source, device=WATCH, samples=hour_of_heart_rate(start, prefix)
    )
    return request.SerializeToString()


Prepared = list[list[tuple[datetime, bytes]]]


def prepare(member: str, clients: int) -> Prepared:
    """Each client's hours, serialized before the clock starts (all 88 days' worth: about 45
    bytes a sample), so the load generator spends its share of the two cores sending, not
    building the messages the service waits for."""
    now = datetime.now(UTC)
    return [
        [
            (start, upload_request(member, start, "sustained", "healthkit"))
            for start in hour_starts(index, clients, now)
        ]
        for index in range(clients)
    ]


async def sustained(
    target: str, token: str, prepared: Prepared, seconds: float, webhook: tuple[str, int]
) -> tuple[int, float, list[datetime], list[float]]:
    """(samples stored, seconds taken, the hours uploaded, the webhook acks' latencies)."""
    metadata = (("authorization", f"Bearer {token}"),)
    clients = len(prepared)
    stored = [0] * clients
    hours: list[datetime] = []
    deadline = time.monotonic() + seconds

    async def client(index: int) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            send = channel.unary_unary(
                "/stride.activity.v1.ActivityService/BatchUploadHealthSamples",
                request_serializer=None,  # The requests are bytes already.
                response_deserializer=pb.BatchUploadHealthSamplesResponse.FromString,
            )
            for start, request in prepared[index]:
                if time.monotonic() >= deadline:
                    return
                reply = await send(request, metadata=metadata, timeout=60)
                stored[index] += reply.accepted_count
                hours.append(start)

    began = time.monotonic()
    acks = asyncio.ensure_future(webhook_acks(*webhook, deadline))
    await asyncio.gather(*(client(index) for index in range(clients)))
    return sum(stored), time.monotonic() - began, hours, await acks


async def raw_copy(database_url: str, hours: list[datetime]) -> tuple[int, float]:
    """COPYs the rows of `hours` (for another member) straight into the table: (rows, s)."""
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        member = uuid.uuid4()
        batches = [raw_rows(member, start) for start in hours]
        began = time.monotonic()
        for rows in batches:
            await connection.copy_records_to_table(
                "health_samples", records=rows, columns=SAMPLE_COLUMNS
            )
        return sum(len(rows) for rows in batches), time.monotonic() - began
    finally:
        await connection.close()


async def hour_uploads(target: str, member: str, token: str, count: int) -> list[float]:
    """Latencies of `count` one-hour uploads, one at a time (another source than the
    sustained phase, so none is a duplicate)."""
    metadata = (("authorization", f"Bearer {token}"),)
    latencies = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub: Any = pb_grpc.ActivityServiceStub(channel)
        for start in list(hour_starts(0, 1, datetime.now(UTC)))[:count]:
            request = pb.BatchUploadHealthSamplesRequest(
                parent=member,
                source="health_connect",
                device=WATCH,
                samples=hour_of_heart_rate(start, "timed"),
            )
            began = time.perf_counter()
            await stub.BatchUploadHealthSamples(request, metadata=metadata, timeout=60)
            latencies.append(time.perf_counter() - began)
    return latencies


async def load_year_of_days(database_url: str, demo_member: uuid.UUID, members: int) -> int:
    """A year of daily heart rate and steps, from a watch and a phone, for `members` members,
    and the demo member's daily steps (their heart rate came from the uploads), COPied into
    the day rollups; how many rows."""
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    chance = random.Random(13)  # noqa: S311 - synthetic figures, not secrets.
    steps_kind, heart_kind = KIND_CODES[HealthKind.STEPS], KIND_CODES[HealthKind.HEART_RATE]
    no_zones = (0.0,) * 5
    loaded = 0
    try:
        for index in range(members + 1):
            member = demo_member if index == members else uuid.uuid4()
            rows: list[tuple[object, ...]] = []
            for day in range(366):
                start = today - timedelta(days=day)
                for device in (DeviceType.WATCH, DeviceType.PHONE):
                    code = DEVICE_CODES[device]
                    steps = float(chance.randint(2000, 14000))
                    rows.append((member, steps_kind, start, code, 96, steps, 0.0, 400.0, *no_zones))
                    if member != demo_member:
                        bpm = float(chance.randint(60, 80))
                        zones = [float(chance.randint(0, 1800)) for _ in range(5)]
                        rows.append(
                            (member, heart_kind, start, code, 2000, bpm * 2000, 48.0, 175.0, *zones)
                        )
            await connection.copy_records_to_table(
                ROLLUP_TABLES[Resolution.DAY], records=rows, columns=ROLLUP_COLUMNS
            )
            loaded += len(rows)
        await connection.execute(f"ANALYZE {ROLLUP_TABLES[Resolution.DAY]}")
    finally:
        await connection.close()
    return loaded


def year_of_steps_path(member: str) -> str:
    end = datetime.now(UTC) + timedelta(days=1)
    start = end - timedelta(days=366)
    return (
        f"/v1/{member}/healthRollups?kind=HEALTH_KIND_STEPS&resolution=RESOLUTION_DAY"
        f"&startTime={start:%Y-%m-%dT00:00:00Z}&endTime={end:%Y-%m-%dT00:00:00Z}"
    )


def timed_reads(port: int, path: str, token: str, reads: int) -> list[float]:
    """Latencies of `reads` GETs of `path` through Envoy, one after another."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    for _ in range(reads):
        began = time.perf_counter()
        status = get(connection, path, token)
        if status != 200:
            raise RuntimeError(f"reading {path} answered {status}")
        latencies.append(time.perf_counter() - began)
    connection.close()
    return latencies


def percentile(latencies: list[float], share: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


def peak_resident_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def _stat_seconds(pid: int, *, with_children: bool = False) -> float:
    """The CPU time a process used (user and system), with its reaped children's if asked."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command: state is field 3; utime, stime, cutime, cstime are fields 14 to 17.
    ticks = [int(value) for value in fields[11:15]]
    used = ticks[0] + ticks[1] + ((ticks[2] + ticks[3]) if with_children else 0)
    return used / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(data: Path) -> float:
    """The CPU time of the Postgres server under `data`: the postmaster, its live backends
    and those that ended."""
    (pid_file,) = data.rglob("postmaster.pid")
    postmaster = int(pid_file.read_text().split()[0])
    used = _stat_seconds(postmaster, with_children=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                used += _stat_seconds(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # It ended while read: its time is in the postmaster's children's.
    return used


def cpu_used(activity_pid: int, data: Path) -> tuple[float, float, float]:
    """CPU seconds so far of (the Activity process, Postgres, this load generator)."""
    return _stat_seconds(activity_pid), postgres_cpu_seconds(data), time.process_time()


def consent_to_heart_rate(port: int, member: str, token: str) -> None:
    """What the app asks before it syncs heart rate: without it every sample is refused."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"heartRate": True})
    connection.request(
        "PATCH",
        f"/v1/{member}/dataConsent?updateMask=heartRate",
        body,
        {"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    reply = connection.getresponse()
    reply.read()
    if reply.status != 200:
        raise RuntimeError(f"consent refused with {reply.status}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    with scratch_servers() as (servers, stack):
        environments: dict[str, dict[str, str]] = {}
        activity: ManagedProcess | None = None
        activity_port = 0
        for service, environment, process in servers.service_processes():
            if service.name not in ("identity", "activity"):
                continue
            process.start()
            stack.callback(process.stop)
            process.wait_until(partial(serving, service), HEALTH_TIMEOUT_SECONDS)
            environments[service.name] = environment
            if service.name == "activity":
                activity, activity_port = process, service.local_port
        if activity is None or activity.pid is None:
            raise RuntimeError("the catalog has no activity service")
        port = start_edge(servers.data, "edge", stack, verify_jwt=True, port=servers.edge_port)
        sign_up_demo_users(f"127.0.0.1:{port}")
        asyncio.run(confirm_demo_users(load_settings(IdentitySettings, environments["identity"])))
        database_url = environments["activity"]["STRIDE_DATABASE_URL"]
        target = f"127.0.0.1:{activity_port}"
        print(f"activity once serving: peak RSS {peak_resident_mib(activity.pid):7.1f} MiB")

        member, token = signed_in_member(port)
        consent_to_heart_rate(port, member, token)
        webhook = (
            f"http://127.0.0.1:{port}/v1/webhooks/strava",
            int(environments["activity"]["STRIDE_STRAVA_SUBSCRIPTION_ID"]),
        )
        prepared = prepare(member, args.clients)
        before = cpu_used(activity.pid, servers.data)
        stored, seconds, hours, acks = asyncio.run(
            sustained(target, token, prepared, args.seconds, webhook)
        )
        spent = [
            (after - began) / stored * 1e6
            for began, after in zip(before, cpu_used(activity.pid, servers.data), strict=True)
        ]
        raw_began = postgres_cpu_seconds(servers.data)
        rows, raw_seconds = asyncio.run(raw_copy(database_url, hours))
        raw_spent = (postgres_cpu_seconds(servers.data) - raw_began) / rows * 1e6
        real_rate, raw_rate = stored / seconds, rows / raw_seconds
        print(
            f"ingestion, gRPC batch upload ({args.clients} clients, {seconds:.1f} s):"
            f" {real_rate:10.0f} samples/s ({stored} stored)"
        )
        print(f"raw asyncpg binary COPY of the same rows:  {raw_rate:10.0f} rows/s ({rows} rows)")
        print(f"ratio, real path / raw COPY: {real_rate / raw_rate:6.3f}")
        print(
            "CPU per sample stored: activity {:5.2f} us, Postgres {:5.2f} us,"
            " load generator {:5.2f} us".format(*spent)
        )
        print(f"Postgres CPU per row of the raw COPY: {raw_spent:5.2f} us")
        print(
            f"Strava webhook acknowledged through Envoy during ingestion ({len(acks)} events):"
            f" p50 {percentile(acks, 0.5):7.1f} ms   p99 {percentile(acks, 0.99):7.1f} ms"
        )

        member, token = signed_in_member(port)
        latencies = asyncio.run(hour_uploads(target, member, token, args.uploads))
        print(
            f"one-hour 1 Hz upload ({HOUR_SAMPLES} samples, {len(latencies)} in a row):"
            f" p50 {percentile(latencies, 0.5):8.1f} ms   p99 {percentile(latencies, 0.99):8.1f} ms"
        )

        loaded = asyncio.run(
            load_year_of_days(database_url, uuid.UUID(member.split("/")[1]), args.members)
        )
        member, token = signed_in_member(port)
        reads = timed_reads(port, year_of_steps_path(member), token, args.reads)
        print(
            f"a year of daily steps through Envoy ({args.members} members, {loaded} day rows):"
            f" p50 {percentile(reads, 0.5):7.2f} ms   p95 {percentile(reads, 0.95):7.2f} ms"
        )
        trends = f"/v1/{member}/activityTrends?weeks=52&timeZone=Asia/Riyadh"
        reads = timed_reads(port, trends, token, args.reads)
        print(
            f"52 weeks of the member's trends through Envoy ({stored // 3600 + len(latencies)}"
            f" hours of heart rate stored): p50 {percentile(reads, 0.5):7.2f} ms"
            f"   p95 {percentile(reads, 0.95):7.2f} ms"
        )
        print(f"activity peak RSS: {peak_resident_mib(activity.pid):7.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
