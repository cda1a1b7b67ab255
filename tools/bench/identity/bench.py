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
import statistics
import sys
import time
import timeit
from typing import Any

from bench.common import get, load, post, scratch_stack, start_edge
from stack.seed import DEMO_PASSWORD
from stride.identity.config import IdentitySettings
from stride.identity.entrypoints.admin import run_admin_command
from stride.platform.auth import JwksSource, JwtVerifier
from stride.platform.config import load_settings


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
    with scratch_stack() as (platform, stack):
        settings = load_settings(IdentitySettings, platform.environments["identity"])
        edge = start_edge(platform.data, "edge", stack, verify_jwt=True, port=platform.edge_port)
        bare = start_edge(platform.data, "edge-without-jwt", stack, verify_jwt=False)
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
