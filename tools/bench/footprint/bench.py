"""What each service costs to run: start to healthy, and resident memory at rest and after a
short session of requests through Envoy.

    ./pants run tools/bench/footprint:footprint -- --requests 300

Starts its own stack in a scratch directory (embedded Postgres, NATS, localstripe, local
message providers, then each service of the catalog alone — process spawned to gRPC health
SERVING is its start-to-healthy time — then Envoy and the demo data of `./pants up`). Memory is
each service's own `process_resident_memory_bytes` from its /metrics. Stop `./pants up` first:
the services listen on their catalog ports. Figures are printed, not asserted;
docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import re
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from functools import partial

from bench.common import get, scratch_servers, signed_in_member, start_edge
from stack.seed import (
    DEMO_STUDIO,
    confirm_demo_users,
    seed_demo_schedule,
    sign_up_demo_users,
)
from stack.up import HEALTH_TIMEOUT_SECONDS, serving
from stride.gateway.catalog import SERVICES, ServiceEntry
from stride.identity.config import IdentitySettings
from stride.platform.config import load_settings

RESIDENT = re.compile(r"^process_resident_memory_bytes ([0-9.e+]+)$", re.MULTILINE)
MIB = 1024 * 1024


def resident_mib(service: ServiceEntry) -> float:
    url = f"http://127.0.0.1:{service.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback.
        match = RESIDENT.search(response.read().decode())
    if match is None:
        raise RuntimeError(f"{service.name} exports no process_resident_memory_bytes")
    return float(match.group(1)) / MIB


def session_paths(member: str) -> dict[str, list[str]]:
    """Service name → what a member's app reads from it in a session."""
    return {
        "identity": [f"/v1/{member}", f"/v1/{member}/sessions"],
        "scheduling": [f"/v1/{DEMO_STUDIO}/classSessions", f"/v1/{member}/bookings"],
        "billing": [f"/v1/{DEMO_STUDIO}/plans", f"/v1/{member}/entitlements"],
        "notifications": [f"/v1/{member}/notifications", f"/v1/{member}/notificationPreferences"],
    }


def session(port: int, token: str, paths: list[str], requests: int) -> Counter[int]:
    """`requests` reads, round-robin over `paths`, on one keep-alive connection; statuses."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses: Counter[int] = Counter()
    for index in range(requests):
        statuses[get(connection, paths[index % len(paths)], token)] += 1
    connection.close()
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per service, after rest")
    args = parser.parse_args()
    healthy_in: dict[str, float] = {}
    with scratch_servers() as (servers, stack):
        environments = {}
        # One at a time, so each start is its own and not four sharing two cores.
        for service, environment, process in servers.service_processes():
            started = time.monotonic()
            process.start()
            stack.callback(process.stop)
            process.wait_until(partial(serving, service), HEALTH_TIMEOUT_SECONDS)
            healthy_in[service.name] = time.monotonic() - started
            environments[service.name] = environment
        port = start_edge(servers.data, "edge", stack, verify_jwt=True, port=servers.edge_port)
        target = f"127.0.0.1:{port}"
        sign_up_demo_users(target)
        asyncio.run(confirm_demo_users(load_settings(IdentitySettings, environments["identity"])))
        seed_demo_schedule(target, datetime.now(UTC))
        at_rest = {service.name: resident_mib(service) for service in SERVICES}
        member, token = signed_in_member(port)
        paths = session_paths(member)
        statuses = {
            service.name: session(port, token, paths[service.name], args.requests)
            for service in SERVICES
        }
        after = {service.name: resident_mib(service) for service in SERVICES}
    print(
        f"\n{'service':<14} {'start to healthy':>17} {'RSS at rest':>12}"
        f" {f'after {args.requests} reads':>17}   statuses"
    )
    for service in SERVICES:
        name = service.name
        replies = ", ".join(
            f"{count} × {status}" for status, count in sorted(statuses[name].items())
        )
        print(
            f"{name:<14} {healthy_in[name]:15.2f} s {at_rest[name]:8.1f} MiB"
            f" {after[name]:13.1f} MiB   {replies}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
