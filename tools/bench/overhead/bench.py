"""What the platform kit costs a request, layer by layer: µs per call of each piece a request
passes through, each beside a baseline measured in the same run.

    ./pants run tools/bench/overhead:overhead -- --calls 3000

- The interceptor chain in this process, with the parts `_Call` runs (metadata and language,
  the trace span, metrics, the JSON access log line, context scopes, parsing the request,
  authorizing it and checking its limits against the contract, the error status), and the
  whole chain around a handler that answers at once (baseline: the handler alone).
- JWT verification: the platform's `JwtVerifier` (baseline: the Ed25519 signature check alone)
  and a service credential.
- On a real Postgres (embedded unless DATABASE_URL is set): a unit of work's session and a
  trivial transaction (baseline: the same transaction on a bare asyncpg connection), one hot
  statement through the ORM and through Core, and the idempotency wrapper of mutations.
- End to end: a trivial unary RPC through a real grpc.aio server in its own process, with the
  platform's whole interceptor chain and without it (baseline), on asyncio's event loop and on
  uvloop; the figure is the server process's CPU per call (from /proc), which is what a
  request rush spends.

Every in-process figure is the fastest of five runs, the least disturbed by other work on the
machine. Figures are printed, not asserted; docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg
import grpc
import jwt
import uvloop
from opentelemetry import trace
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from stride.platform.auth import (
    JwksSource,
    JwtVerifier,
    Principal,
    authenticated_as,
    called_by_service,
)
from stride.platform.context import ContextScope
from stride.platform.db.engine import (
    asyncpg_url,
    create_engine,
    drop_database,
    ensure_database,
    plain_url,
    session_factory,
)
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.db.uow import UnitOfWork
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.access_control import authorize
from stride.platform.grpc.contract import method_contracts, service_descriptor
from stride.platform.grpc.interceptors import StrideServerInterceptor
from stride.platform.grpc.request_limits import RequestLimits
from stride.platform.grpc.status import to_rpc_status, trailing_metadata
from stride.platform.i18n import locale_scope, negotiate_locale
from stride.platform.idempotency import IdempotencyRecord, fingerprint, idempotent, lookup
from stride.platform.local.postgres import EmbeddedPostgres
from stride.platform.observability.logging import configure_logging
from stride.platform.observability.metrics import RPC_IN_FLIGHT, RPC_LATENCY
from stride.platform.observability.tracing import configure_tracing, extract_context
from stride.platform.probe.v1 import probe_service_pb2 as probe_pb
from stride.platform.probe.v1 import probe_service_pb2_grpc as probe_grpc
from stride.platform.service_credentials import (
    ServiceCredentials,
    ServiceKey,
    ServiceTokenVerifier,
    new_service_key_spec,
)
from stride.platform.testing.probe_service import ACCESS_KEY, AUDIENCE, ISSUER, JWKS, access_token
from stride.scheduling.v1 import scheduling_service_pb2 as pb

CREATE_BOOKING = "/stride.scheduling.v1.SchedulingService/CreateBooking"
MEMBER = "0b7f3c9e-7a51-4d7e-9f0a-5c3e1d2b4a6f"
REQUEST = pb.CreateBookingRequest(
    parent=f"users/{MEMBER}",
    booking=pb.Booking(class_session="studios/downtown/classSessions/0b7f3c9e-7a51-4d7e-9f0a"),
    request_id="6f1d2c3b-8a9e-4f70-b1c2-d3e4f5a6b7c8",
)
RAW_REQUEST = REQUEST.SerializeToString()
RESPONSE = pb.Booking(
    name=f"users/{MEMBER}/bookings/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
    class_session=REQUEST.booking.class_session,
    state=pb.Booking.STATE_CONFIRMED,
)
# What Envoy sends a service with each request.
METADATA = (
    ("authorization", "Bearer <set per run>"),
    ("x-stride-locale", "ar"),
    ("accept-language", "ar-SA,en;q=0.8"),
    ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ("x-stride-client-address", "203.0.113.7"),
    ("x-request-id", "7a3e1c2d-5b4f-4e6a-9d8c-1b2a3c4d5e6f"),
    ("user-agent", "grpc-c++/1.68 envoy"),
)
Timed = Callable[[], object]
Awaited = Callable[[], Awaitable[object]]


def per_call(call: Timed, number: int) -> float:
    """µs per call, the fastest of five runs."""
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


async def per_await(call: Awaited, number: int) -> float:
    for _ in range(max(number // 10, 10)):  # Warm: pools filled, statements prepared.
        await call()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(number):
            await call()
        best = min(best, time.perf_counter() - started)
    return best / number * 1e6


@dataclass
class Table:
    title: str
    rows: list[tuple[str, float]]

    def print(self) -> None:
        print(f"\n{self.title}")
        baseline = self.rows[0][1]
        for index, (name, micros) in enumerate(self.rows):
            ratio = f"{micros / baseline:6.2f} ×" if index else "baseline"
            print(f"  {name:<62} {micros:9.1f} µs   {ratio}")


class FakeContext:
    """The part of grpc.aio's ServicerContext the interceptor reads, for in-process timing."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:50412"

    def time_remaining(self) -> float:
        return 29.5

    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Any) -> None:
        raise grpc.aio.AbortError()


class CallDetails(grpc.HandlerCallDetails):
    def __init__(self, method: str, metadata: tuple[tuple[str, str], ...]) -> None:
        self.method, self.invocation_metadata = method, metadata


def interceptor_chain(calls: int, token: str, verifier: JwtVerifier) -> Table:
    """The interceptor's parts one by one, then the whole chain around an instant handler."""
    metadata = tuple((k, f"Bearer {token}" if k == "authorization" else v) for k, v in METADATA)
    contracts = method_contracts([service_descriptor("stride.scheduling.v1.SchedulingService")])
    contract = contracts[CREATE_BOOKING]
    limits = RequestLimits(type(REQUEST))
    principal = Principal(MEMBER, frozenset({"member"}))
    tracer = trace.get_tracer("bench")
    rpc_log = logging.getLogger("stride.rpc")

    async def handler(request: Any, context: Any) -> pb.Booking:
        return RESPONSE

    interceptor = StrideServerInterceptor("scheduling", contracts, verifier, None, 30.0, 3600.0)

    async def continuation(details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(handler)

    loop = asyncio.new_event_loop()
    wrapped = loop.run_until_complete(
        interceptor.intercept_service(continuation, CallDetails(CREATE_BOOKING, metadata))
    ).unary_unary
    assert wrapped is not None  # noqa: S101 - CreateBooking is unary.
    context: Any = FakeContext(metadata)  # What the interceptor reads of a real one.

    def metadata_and_language() -> None:
        values = {key: value for key, value in metadata if isinstance(value, str)}
        negotiate_locale(values.get("x-stride-locale") or values.get("accept-language"))

    def span() -> None:
        carrier = dict(metadata)
        with tracer.start_as_current_span(
            CREATE_BOOKING, context=extract_context(carrier), kind=trace.SpanKind.SERVER
        ):
            pass

    def metrics() -> None:
        RPC_IN_FLIGHT.labels("scheduling").inc()
        RPC_IN_FLIGHT.labels("scheduling").dec()
        RPC_LATENCY.labels("scheduling", CREATE_BOOKING, "OK").observe(0.004)

    def access_log() -> None:
        rpc_log.info(
            "rpc",
            extra={
                "rpc_method": CREATE_BOOKING,
                "rpc_code": "OK",
                "duration_ms": 4.21,
                "peer": "ipv4:127.0.0.1:50412",
                "principal": MEMBER,
                "caller_service": None,
            },
        )

    def scopes() -> None:
        entered: list[ContextScope[Any]] = [
            locale_scope("ar"),
            authenticated_as(principal),
            called_by_service(None),
        ]
        for scope in entered:
            scope.__enter__()
        for scope in reversed(entered):
            scope.__exit__(None, None, None)

    def admit() -> None:
        request = limits.parse(RAW_REQUEST)
        authorize(contract.access, request, principal)
        limits.check(request)

    invalid = InvalidArgument([FieldViolation("booking.class_session", "field.required")])

    def error_status() -> None:
        trailing_metadata(to_rpc_status(invalid, "ar"))

    async def handler_alone() -> None:
        await handler(REQUEST, context)

    async def whole_chain() -> None:
        await wrapped(RAW_REQUEST, context)

    rows = [
        ("handler alone, request already parsed (baseline)", handler_alone),
        ("whole chain: CreateBooking, its token seen before", whole_chain),
    ]
    table = Table(
        "Interceptor chain, in process (CreateBooking's contract, a member's token)",
        [(name, loop.run_until_complete(per_await(call, calls))) for name, call in rows],
    )
    for name, part in [
        ("  metadata dict + language", metadata_and_language),
        ("  trace span (SDK provider, no exporter) + W3C extract", span),
        ("  metrics: in-flight gauge ± 1, latency histogram", metrics),
        ("  access log line (JSON, to a file)", access_log),
        ("  context scopes: language, principal, caller", scopes),
        ("  parse + authorize (owner) + limits", admit),
        ("  error path only: InvalidArgument → google.rpc.Status", error_status),
    ]:
        table.rows.append((name, per_call(part, calls)))
    loop.close()
    return table


def authentication(calls: int, token: str, keys: JwksSource) -> Table:
    """Each verifier twice: a token it has not seen (a new verifier per call), and the same
    token again, as a member's app sends it with every request."""
    signing_input, _, signature = token.rpartition(".")
    raw_signature = jwt.utils.base64url_decode(signature)
    public_key = ACCESS_KEY.public_key()
    verifier = JwtVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    caller = ServiceKey.from_spec(new_service_key_spec("bench-caller"))
    trusted = {caller.kid: ("billing", caller.private_key.public_key())}
    service_verifier = ServiceTokenVerifier("scheduling", trusted)
    service_token = (
        ServiceCredentials("billing", caller).metadata("scheduling")[0][1].removeprefix("Bearer ")
    )
    callers = frozenset({"billing"})
    loop = asyncio.new_event_loop()

    def unseen_service_token() -> None:
        ServiceTokenVerifier("scheduling", trusted).verify(service_token, callers)

    table = Table(
        "Authentication, per token",
        [
            (
                "Ed25519 signature check alone (baseline)",
                per_call(lambda: public_key.verify(raw_signature, signing_input.encode()), calls),
            ),
            (
                "JwtVerifier.verify, a member's token not seen before",
                loop.run_until_complete(
                    per_await(
                        lambda: JwtVerifier(keys, issuer=ISSUER, audience=AUDIENCE).verify(token),
                        calls,
                    )
                ),
            ),
            (
                "JwtVerifier.verify, the same token again",
                loop.run_until_complete(per_await(lambda: verifier.verify(token), calls)),
            ),
            (
                "ServiceTokenVerifier.verify, a credential not seen before",
                per_call(unseen_service_token, calls),
            ),
            (
                "ServiceTokenVerifier.verify, the same credential again",
                per_call(lambda: service_verifier.verify(service_token, callers), calls),
            ),
        ],
    )
    loop.close()
    return table


async def database(server_url: str, calls: int, loop_name: str) -> list[Table]:
    name = f"bench_overhead_{uuid.uuid4().hex[:8]}"
    url = await ensure_database(server_url, name)
    try:
        await run_migrations(url)
        engine = create_engine(url)
        # The same engine without `pool_pre_ping`: what the ping on each checkout costs.
        unpinged = _create_async_engine(asyncpg_url(url), pool_size=10)
        try:
            return await database_tables(
                url, session_factory(engine), session_factory(unpinged), calls, loop_name
            )
        finally:
            await engine.dispose()
            await unpinged.dispose()
    finally:
        await drop_database(server_url, name)


async def database_tables(
    url: str,
    sessions: async_sessionmaker[AsyncSession],
    unpinged: async_sessionmaker[AsyncSession],
    calls: int,
    loop_name: str,
) -> list[Table]:
    pool = await asyncpg.create_pool(plain_url(url), min_size=1, max_size=2)
    assert pool is not None  # noqa: S101 - asyncpg types it optional.
    stored_id = str(uuid.uuid4())
    await idempotent(
        UnitOfWork(sessions, "bench"), CREATE_BOOKING, REQUEST, stored_id, instant, pb.Booking
    )

    async def asyncpg_transaction() -> None:
        async with pool.acquire() as connection, connection.transaction():
            await connection.fetchval("SELECT 1")

    async def unit_of_work(on: async_sessionmaker[AsyncSession]) -> None:
        async with UnitOfWork(on, "bench") as uow:
            await uow.session.execute(select(literal(1)))
            await uow.commit()

    units = Table(
        f"Unit of work on Postgres ({loop_name}), per transaction",
        [
            (
                "asyncpg pool: BEGIN, SELECT 1, COMMIT (baseline)",
                await per_await(asyncpg_transaction, calls),
            ),
            (
                "UnitOfWork: session, BEGIN, SELECT 1, COMMIT",
                await per_await(lambda: unit_of_work(sessions), calls),
            ),
            (
                "  the same on an engine without pool_pre_ping",
                await per_await(lambda: unit_of_work(unpinged), calls),
            ),
        ],
    )

    key = (CREATE_BOOKING, stored_id)
    record = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    core_lookup = select(record.c.fingerprint, record.c.response).where(
        record.c.method == key[0], record.c.request_id == key[1]
    )
    async with pool.acquire() as connection, sessions() as session, session.begin():

        async def orm_get() -> None:
            await session.get(IdempotencyRecord, key)
            session.expunge_all()  # Else the identity map answers without a query.

        async def core_select() -> None:
            (await session.execute(core_lookup)).first()

        async def raw_fetch() -> None:
            await connection.fetchrow(
                "SELECT fingerprint, response FROM idempotency_keys"
                " WHERE method = $1 AND request_id = $2",
                *key,
            )

        statements = Table(
            f"One hot statement ({loop_name}): the stored response by primary key",
            [
                ("asyncpg fetchrow, prepared (baseline)", await per_await(raw_fetch, calls)),
                (
                    "SQLAlchemy Core select(columns) in a session (lookup())",
                    await per_await(core_select, calls),
                ),
                (
                    "SQLAlchemy ORM session.get (what lookup() used)",
                    await per_await(orm_get, calls),
                ),
            ],
        )

    async def asyncpg_idempotent() -> None:
        request_id = str(uuid.uuid4())
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"{CREATE_BOOKING}/{request_id}",
            )
            await connection.fetchrow(
                "SELECT fingerprint, response FROM idempotency_keys"
                " WHERE method = $1 AND request_id = $2",
                CREATE_BOOKING,
                request_id,
            )
            response = (await instant()).SerializeToString()
            await connection.execute(
                "INSERT INTO idempotency_keys (method, request_id, fingerprint, response,"
                " created_at) VALUES ($1, $2, $3, $4, now())",
                CREATE_BOOKING,
                request_id,
                fingerprint(REQUEST),
                response,
            )

    async def uow_commit() -> None:
        async with UnitOfWork(sessions, "bench") as uow:
            await instant()
            await uow.commit()

    async def wrapper(request_id: Callable[[], str]) -> None:
        uow = UnitOfWork(sessions, "bench")
        await idempotent(uow, CREATE_BOOKING, REQUEST, request_id(), instant, pb.Booking)

    async def replayed() -> None:
        async with UnitOfWork(sessions, "bench") as uow:
            await lookup(uow.session, CREATE_BOOKING, stored_id, fingerprint(REQUEST))

    wrappers = Table(
        f"Idempotency wrapper ({loop_name}), per mutation that does nothing",
        [
            (
                "asyncpg: BEGIN, lock, SELECT, INSERT, COMMIT (baseline)",
                await per_await(asyncpg_idempotent, calls),
            ),
            ("UnitOfWork: open, commit, nothing written", await per_await(uow_commit, calls)),
            ("idempotent(), no request id", await per_await(lambda: wrapper(str), calls)),
            (
                "idempotent(), a new request id: lock, look up, store",
                await per_await(lambda: wrapper(lambda: str(uuid.uuid4())), calls),
            ),
            (
                "lookup(): a stored response read back, one short transaction",
                await per_await(replayed, calls),
            ),
        ],
    )
    await pool.close()
    return [units, statements, wrappers]


async def instant() -> pb.Booking:
    return RESPONSE


@contextmanager
def probe_server(chain: str, loop_name: str, logs: Path) -> Iterator[tuple[int, int, str]]:
    """A probe server process; its port, process id and an access token it accepts."""
    with (logs / f"{chain}-{loop_name}.log").open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.overhead.probe_server",
                "--chain",
                chain,
                "--loop",
                loop_name,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        assert process.stdout is not None  # noqa: S101 - piped above.
        port, token = process.stdout.readline().split()
        yield int(port), process.pid, token.decode()
    finally:
        assert process.stdin is not None  # noqa: S101 - piped above.
        process.stdin.close()
        process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def rpc_load(port: int, calls: int, concurrency: int, method: str, token: str) -> float:
    """Sends `calls` unary RPCs, `concurrency` at a time; the wall seconds taken."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        client = probe_grpc.ProbeServiceStub(channel)
        metadata = tuple((k, f"Bearer {token}" if k == "authorization" else v) for k, v in METADATA)

        async def send() -> object:
            if method == "WhoAmI":
                return await client.WhoAmI(probe_pb.WhoAmIRequest(), metadata=metadata)
            return await client.Echo(probe_pb.EchoRequest(note="hello"), metadata=metadata)

        async def worker(count: int) -> None:
            for _ in range(count):
                await send()

        started = time.perf_counter()
        await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
        return time.perf_counter() - started


def end_to_end(calls: int, concurrency: int, logs: Path) -> Table:
    rows: list[tuple[str, float]] = []
    for chain, loop_name in [
        ("bare", "asyncio"),
        ("full", "asyncio"),
        ("bare", "uvloop"),
        ("full", "uvloop"),
    ]:
        with probe_server(chain, loop_name, logs) as (port, pid, token):
            for method in ("Echo", "WhoAmI"):
                asyncio.run(rpc_load(port, min(calls, 500), concurrency, method, token))  # Warm up.
                before = cpu_seconds(pid)
                wall = asyncio.run(rpc_load(port, calls, concurrency, method, token))
                server_cpu = (cpu_seconds(pid) - before) / calls * 1e6
                what = "public, no token" if method == "Echo" else "signed in, JWT"
                label = (
                    f"{chain:<4} server, {loop_name:<7}: {method} ({what}),"
                    f" {calls / wall:5.0f}/s wall"
                )
                rows.append((label + (" (baseline)" if not rows else ""), server_cpu))
    return Table(
        f"Unary RPC end to end, server CPU per call ({concurrency} in flight, client in the"
        " bench's process)",
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/overhead", description=__doc__)
    parser.add_argument("--calls", type=int, default=3000, help="per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="RPCs in flight end to end")
    parser.add_argument(
        "--parts", default="chain,auth,db,rpc", help="which figures, comma-separated"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    keys = JwksSource(document=JWKS)
    verifier = JwtVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    # Valid through the whole run (the probe's tokens last a minute by default).
    token = access_token(sub=MEMBER, roles=("member",), exp=int(time.time()) + 3600)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="stride-bench-") as scratch:
        data = Path(scratch)
        data.chmod(0o755)
        # As a service process runs: JSON access lines (to a file here), tracing on.
        configure_logging("scheduling")
        access_log = stack.enter_context((data / "rpc.log").open("w"))
        cast(logging.StreamHandler[Any], logging.getLogger().handlers[0]).setStream(access_log)
        configure_tracing("scheduling", None)
        print(f"Per-request overhead of the platform kit — {args.calls} calls per figure")
        parts = set(args.parts.split(","))
        if "chain" in parts:
            interceptor_chain(args.calls, token, verifier).print()
        if "auth" in parts:
            authentication(args.calls, token, keys).print()
        if "db" in parts:
            database_figures(data, args.calls, stack)
        if "rpc" in parts:
            end_to_end(args.calls, args.concurrency, data).print()
    return 0


def database_figures(data: Path, calls: int, stack: ExitStack) -> None:
    """The database's figures on each event loop. Postgres is not durable here: commits skip
    fsync, whose time on a shared disk would drown the per-request figures."""
    server_url = (
        os.environ.get("DATABASE_URL")
        or stack.enter_context(EmbeddedPostgres(data / "postgres", durable=False)).url
    )
    db_calls = max(calls // 5, 100)
    for tables in (
        asyncio.run(database(server_url, db_calls, "asyncio")),
        uvloop.run(database(server_url, db_calls, "uvloop")),
    ):
        for table in tables:
            table.print()


if __name__ == "__main__":
    raise SystemExit(main())
