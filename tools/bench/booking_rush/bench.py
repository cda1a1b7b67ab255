"""A busy Monday morning: 2,000 members try to book a 25-spot class at the same moment, through
Envoy; then steady booking throughput beside a minimal read through the same Envoy.

    ./pants run tools/bench/booking_rush:booking_rush -- --attempts 2000 --spots 25
    ./pants run tools/bench/booking_rush:booking_rush -- --cpu-hog 1   # one core busy beside it

Starts its own stack in a scratch directory (stop `./pants up` first). Member tokens are minted
with Identity's own current signing key, read the way Identity reads it, instead of 2,000
Argon2id sign-ups that would measure Identity rather than booking; each member is granted a
class pack through Billing first, and every booking holds a credit there. Figures are printed,
not asserted; docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from bench.common import Result, cpu_hog, load, post, reply_body, scratch_stack, start_edge
from stack.seed import DEMO_PASSWORD
from stride.identity.adapters.signing_keys import ALGORITHM, SigningKeys
from stride.identity.config import IdentitySettings
from stride.identity.entrypoints.admin import run_admin_command
from stride.platform.config import load_settings
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.db.engine import create_engine, session_factory

STUDIO = "rush"


async def signing_key(settings: IdentitySettings) -> tuple[str, Any]:
    engine = create_engine(settings.database_url)
    try:
        keys = SigningKeys(
            session_factory(engine),
            DataKeyring.from_spec(settings.data_keys, settings.data_key_active),
            publish_ahead=timedelta(0),
            clock=lambda: datetime.now(UTC),
        )
        return await keys.current()
    finally:
        await engine.dispose()


def member_token(settings: IdentitySettings, kid: str, key: Any, member: uuid.UUID) -> str:
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(member),
        "sid": str(uuid.uuid4()),
        "roles": ["member"],
        "iat": now,
        "exp": now + 900,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "at+jwt"})


def admin_token(port: int, settings: IdentitySettings) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    email = f"rush-admin-{uuid.uuid4().hex[:8]}@example.com"
    post(connection, "/v1/users:signUp", {"email": email, "password": DEMO_PASSWORD})
    for command in (
        argparse.Namespace(command="confirm-email", email=email),
        argparse.Namespace(command="grant-role", email=email, role="admin", studio=""),
    ):
        asyncio.run(run_admin_command(settings, command))
    status, body = post(
        connection, "/v1/sessions:signIn", {"email": email, "password": DEMO_PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"admin sign-in failed: {body}")
    return str(body["credentials"]["accessToken"])


def create(
    connection: http.client.HTTPConnection, path: str, body: dict[str, Any], token: str
) -> Any:
    status, reply = post(connection, path, body, token)
    if status != 200:
        raise RuntimeError(f"{path}: {status} {reply}")
    return reply


def a_class(port: int, token: str, capacity: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    base = f"/v1/studios/{STUDIO}"
    room = create(connection, f"{base}/rooms", {"displayName": "Hall", "capacity": capacity}, token)
    kind = create(
        connection,
        f"{base}/classTypes",
        {"displayNameEn": "HIIT", "displayNameAr": "تمارين", "durationMinutes": 45},
        token,
    )
    start = (datetime.now(UTC) + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    session = create(
        connection,
        f"{base}/classSessions",
        {"classType": kind["name"], "room": room["name"], "startTime": start},
        token,
    )
    return str(session["name"])


async def post_json(
    port: int, path: str, body: dict[str, Any], token: str
) -> tuple[int, dict[str, Any], float]:
    """One POST over its own connection: (status, body, seconds); status 0 when no answer came
    (the connection refused or reset)."""
    data = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        f"authorization: Bearer {token}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\nconnection: close\r\n\r\n"
    ).encode() + data
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        raw = await reader.read()
        writer.close()
    except OSError as error:
        return 0, {"text": type(error).__name__}, time.perf_counter() - started
    elapsed = time.perf_counter() - started
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode(errors="replace").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines if ": " in line)
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return 0, {"text": status_line[:200]}, elapsed
    return int(parts[1]), reply_body(headers.get("content-type"), payload), elapsed


async def attempt(
    port: int, member: uuid.UUID, token: str, class_name: str
) -> tuple[int, str, float]:
    """One booking: (status, its state or, for an error, what the reply said, seconds)."""
    status, reply, elapsed = await post_json(
        port, f"/v1/users/{member}/bookings", {"classSession": class_name}, token
    )
    return status, str(reply.get("state", "")) if status == 200 else error_said(reply), elapsed


def error_said(reply: dict[str, Any]) -> str:
    """An error reply's reason (google.rpc.ErrorInfo), else its message or text."""
    for detail in reply.get("details", []):
        if str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo"):
            return f"{detail.get('reason')} ({detail.get('domain', '')})"
    return str(reply.get("message") or reply.get("text") or "")


async def grant_credits(port: int, admin: str, members: list[uuid.UUID]) -> None:
    """A class pack for every member (what a purchase would do), 50 at a time."""
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    body = {"kind": "KIND_CLASS_PACK", "creditsTotal": 100, "expireTime": expires}
    gate = asyncio.Semaphore(50)

    async def grant(member: uuid.UUID) -> None:
        async with gate:
            status, reply, _ = await post_json(
                port, f"/v1/users/{member}/entitlements", body, admin
            )
        if status != 200:
            raise RuntimeError(f"granting credits failed: {status} {reply}")

    await asyncio.gather(*(grant(member) for member in members))


async def rush(port: int, class_name: str, tokens: dict[uuid.UUID, str]) -> tuple[list[Any], float]:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(attempt(port, member, token, class_name) for member, token in tokens.items())
    )
    return list(results), time.perf_counter() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-booking-rush", description=__doc__)
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--spots", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--cpu-hog",
        type=int,
        default=0,
        metavar="CORES",
        help="keep this many cores busy (a spinning process pinned to each) during the rush and "
        "the steady load",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with scratch_stack() as (platform, stack):
        settings = load_settings(IdentitySettings, platform.environments["identity"])
        edge = start_edge(platform.data, "edge", stack, verify_jwt=True, port=platform.edge_port)
        admin = admin_token(edge, settings)
        setup = http.client.HTTPConnection("127.0.0.1", edge, timeout=30)
        policy = {"maxActiveBookings": 100, "bookingWindowDays": 7}
        create(
            setup,
            f"/v1/studios?studioId={STUDIO}",
            {"displayName": "Rush", "timeZone": "Asia/Riyadh", "bookingPolicy": policy},
            admin,
        )
        kid, key = asyncio.run(signing_key(settings))
        members = [uuid.uuid4() for _ in range(args.attempts)]
        tokens = {member: member_token(settings, kid, key, member) for member in members}
        asyncio.run(grant_credits(edge, admin, members))

        hot = a_class(edge, admin, args.spots)
        roomy = a_class(edge, admin, 500)
        stack.enter_context(cpu_hog(args.cpu_hog))  # Until the stack stops, after the steady load.
        results, wall = asyncio.run(rush(edge, hot, tokens))
        print_rush(results, wall, args)

        steady = members[: args.clients]

        def book_and_cancel(connection: http.client.HTTPConnection, worker: int) -> int:
            member = steady[worker]
            status, booking = post(
                connection, f"/v1/users/{member}/bookings", {"classSession": roomy}, tokens[member]
            )
            if status != 200:
                return int(status)
            cancelled, _ = post(connection, f"/v1/{booking['name']}:cancel", {}, tokens[member])
            return int(cancelled)

        def read_studio(connection: http.client.HTTPConnection, worker: int) -> int:
            member = steady[worker]
            connection.request(
                "GET",
                f"/v1/studios/{STUDIO}",
                headers={"authorization": f"Bearer {tokens[member]}"},
            )
            response = connection.getresponse()
            response.read()
            return response.status

        pairs = load("book + cancel (pairs)", edge, args.clients, args.seconds, book_and_cancel)
        baseline = load("GetStudio (minimal read)", edge, args.clients, args.seconds, read_studio)
        print(f"\nSteady load — {args.clients} clients, {args.seconds:.0f} s each\n")
        for result in (pairs, baseline):
            print(result.line())
        print(f"\nbooking requests/s ÷ minimal reads/s: {ratio(pairs, baseline):.2f}")
    return 0


def print_rush(results: list[Any], wall: float, args: argparse.Namespace) -> None:
    """The rush's outcome: states, every error by status with what one of them said, time."""
    states = [state for status, state, _ in results if status == 200]
    latencies = [seconds for _, _, seconds in results]
    beside = f", {args.cpu_hog} core(s) kept busy beside it" if args.cpu_hog else ""
    print(f"Booking rush — {args.attempts} simultaneous attempts, {args.spots} spots{beside}\n")
    print(f"  confirmed   {states.count('STATE_CONFIRMED')}")
    print(f"  waitlisted  {states.count('STATE_WAITLISTED')}")
    errors = Counter(status for status, _, _ in results if status != 200)
    detail = f" {dict(errors)}" if errors else ""
    print(f"  errors      {sum(errors.values())}{detail}")
    said = {status: text for status, text, _ in results if status != 200}
    for status, text in sorted(said.items()):
        print(f"    {status}: {text[:120]}")
    print(f"  wall time   {wall:.2f} s")
    print(
        f"  latency     p50 {percentile(latencies, 0.5) * 1000:.0f} ms"
        f"   p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
    )


def ratio(pairs: Result, baseline: Result) -> float:
    """Each pair is two requests (book, cancel)."""
    return (2 * len(pairs.latencies) / pairs.seconds) / (len(baseline.latencies) / baseline.seconds)


if __name__ == "__main__":
    raise SystemExit(main())
