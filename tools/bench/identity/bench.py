"""Identity through Envoy on this machine: sign-in and token-refresh throughput and latency,
and what verifying the access token costs at Envoy and inside the service.

    ./pants run tools/bench/identity:identity -- --seconds 10 --clients 8

Starts its own stack (embedded Postgres and NATS unless DATABASE_URL / NATS_URL are set,
Identity as a process, two Envoys) in a scratch directory. Stop `./pants up` first: Identity
listens on its catalog port. Figures are printed, not asserted; docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack.seed import DEMO_PASSWORD
from stack.up import start_nats, start_postgres, start_services
from stride.gateway.render import write_edge_bundle
from stride.identity.config import IdentitySettings
from stride.identity.entrypoints.admin import run_admin_command
from stride.platform.auth import JwksSource, JwtVerifier
from stride.platform.config import load_settings
from stride.platform.local.envoy import EnvoyProcess, validate_config
from stride.platform.local.ports import free_port

Request = Callable[[http.client.HTTPConnection, int], int]  # (connection, worker) → status


@dataclass
class Result:
    name: str
    latencies: list[float]
    errors: int
    seconds: float

    def line(self) -> str:
        ordered = sorted(self.latencies) or [float("nan")]
        p50 = ordered[len(ordered) // 2] * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        rate = len(self.latencies) / self.seconds
        return (
            f"{self.name:<34} {rate:8.1f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms"
            f"   errors {self.errors}"
        )


def load(name: str, port: int, clients: int, seconds: float, request: Request) -> Result:
    """`clients` threads, each on its own keep-alive connection, for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status = request(connection, index)
            if status == 200:
                latencies[index].append(time.perf_counter() - started)
            else:
                errors[index] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(
        name, [x for xs in latencies for x in xs], sum(errors), time.monotonic() - started
    )


def post(connection: http.client.HTTPConnection, path: str, body: dict[str, Any]) -> Any:
    connection.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    return response.status, json.loads(payload) if payload else {}


def get(connection: http.client.HTTPConnection, path: str, token: str) -> int:
    connection.request("GET", path, headers={"authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    return response.status


def start_edge(data: Path, name: str, stack: ExitStack, *, verify_jwt: bool) -> int:
    port, admin = free_port(), free_port()
    config_path = write_edge_bundle(
        data / name,
        listen_address="127.0.0.1",
        listen_port=port,
        admin_port=admin,
        upstream_host="127.0.0.1",
        cors_origins=(),
        auth_burst=1_000_000,
        auth_per_second=1_000_000,
    )
    if not verify_jwt:  # The same edge without jwt_authn: the baseline for its cost.
        config = json.loads(config_path.read_text())
        manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        filters = manager["typed_config"]["http_filters"]
        filters[:] = [f for f in filters if f["name"] != "envoy.filters.http.jwt_authn"]
        config_path.write_text(json.dumps(config))
    validate_config(config_path)
    envoy = EnvoyProcess(config_path, admin, data / f"{name}.log")
    envoy.start()
    stack.callback(envoy.stop)
    return port


def sign_up_users(port: int, count: int, settings: IdentitySettings) -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    emails = []
    for index in range(count):
        email = f"bench-{index}-{time.time_ns()}@example.com"
        status, _ = post(
            connection, "/v1/users:signUp", {"email": email, "password": DEMO_PASSWORD}
        )
        if status != 200:
            raise RuntimeError(f"sign-up failed with {status}")
        args = argparse.Namespace(command="confirm-email", email=email)
        asyncio.run(run_admin_command(settings, args))
        emails.append(email)
    return emails


def sign_in(connection: http.client.HTTPConnection, email: str) -> dict[str, Any]:
    status, body = post(
        connection, "/v1/sessions:signIn", {"email": email, "password": DEMO_PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"sign-in failed with {status}: {body}")
    return dict(body)


def in_service_verification_micros(port: int, token: str, settings: IdentitySettings) -> float:
    """The service-side check alone: the platform verifier with the key already cached."""
    verifier = JwtVerifier(
        JwksSource(url=f"http://127.0.0.1:{port}/.well-known/jwks.json"),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    loop = asyncio.new_event_loop()
    loop.run_until_complete(verifier.verify(token))
    runs = 2000
    seconds = timeit.timeit(lambda: loop.run_until_complete(verifier.verify(token)), number=runs)
    loop.close()
    return seconds / runs * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-identity", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="stride-bench-") as scratch:
        data = Path(scratch)
        data.chmod(0o755)
        rest_port = free_port()
        server_url = start_postgres(data, free_port(), stack)
        nats_url = start_nats(data, free_port(), stack)
        environments = start_services(server_url, nats_url, data, rest_port, stack)
        settings = load_settings(IdentitySettings, environments["identity"])
        edge = start_edge(data, "edge", stack, verify_jwt=True)
        bare = start_edge(data, "edge-without-jwt", stack, verify_jwt=False)
        emails = sign_up_users(edge, args.clients, settings)
        setup = http.client.HTTPConnection("127.0.0.1", edge, timeout=30)
        sessions = [sign_in(setup, email) for email in emails]
        refresh_tokens = [s["credentials"]["refreshToken"] for s in sessions]
        tokens = [s["credentials"]["accessToken"] for s in sessions]
        users = [s["user"]["name"] for s in sessions]

        def do_sign_in(connection: http.client.HTTPConnection, worker: int) -> int:
            body = {"email": emails[worker], "password": DEMO_PASSWORD}
            return int(post(connection, "/v1/sessions:signIn", body)[0])

        def do_refresh(connection: http.client.HTTPConnection, worker: int) -> int:
            status, body = post(
                connection, "/v1/sessions:refresh", {"refreshToken": refresh_tokens[worker]}
            )
            if status == 200:
                refresh_tokens[worker] = body["credentials"]["refreshToken"]
            return int(status)

        def do_get_user(connection: http.client.HTTPConnection, worker: int) -> int:
            return get(connection, f"/v1/{users[worker]}", tokens[worker])

        print(f"Identity through Envoy — {args.clients} clients, {args.seconds:.0f} s each\n")
        results = [
            load("sign-in (Argon2id)", edge, args.clients, args.seconds, do_sign_in),
            load("token refresh", edge, args.clients, args.seconds, do_refresh),
            load("GetUser, JWT checked at Envoy", edge, args.clients, args.seconds, do_get_user),
            load("GetUser, no jwt_authn (baseline)", bare, args.clients, args.seconds, do_get_user),
        ]
        for result in results:
            print(result.line())
        with_jwt, without_jwt = results[2], results[3]
        envoy_cost = statistics.median(with_jwt.latencies) - statistics.median(
            without_jwt.latencies
        )
        rate_ratio = len(with_jwt.latencies) / max(len(without_jwt.latencies), 1)
        service_cost = in_service_verification_micros(edge, tokens[0], settings)
        print(
            f"\nJWT verification at Envoy: {envoy_cost * 1e6:+.0f} µs median per request, "
            f"throughput ratio with/without {rate_ratio:.2f}"
        )
        print(f"JWT verification in-service (Python, EdDSA): {service_cost:.0f} µs per token")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
