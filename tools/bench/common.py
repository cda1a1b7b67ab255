"""What the benchmarks share: a scratch stack, edges, load loops that print latency, reading
replies whatever they carry, and a CPU hog to measure beside."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack.providers import LocalProviders, start_providers
from stack.seed import DEMO_PASSWORD, DEMO_USERS
from stack.up import (
    LocalPayments,
    service_processes,
    start_nats,
    start_postgres,
    start_services,
    start_stripe,
)
from stride.gateway.catalog import ServiceEntry
from stride.gateway.render import write_edge_bundle
from stride.platform.local.envoy import EnvoyProcess, validate_config
from stride.platform.local.ports import free_port
from stride.platform.local.process import ManagedProcess

Request = Callable[[http.client.HTTPConnection, int], int]  # (connection, worker) → status


@dataclass(frozen=True)
class Stack:
    data: Path
    edge_port: int  # The edge every service's JWKS URL points at.
    environments: dict[str, dict[str, str]]  # Service name → its STRIDE_* environment.


@dataclass(frozen=True)
class Servers:
    """What the services of a scratch stack run on."""

    data: Path
    edge_port: int  # The edge every service's JWKS URL points at.
    server_url: str  # The Postgres server; each service makes its database on it.
    nats_url: str
    payments: LocalPayments
    providers: LocalProviders

    def service_processes(self) -> list[tuple[ServiceEntry, dict[str, str], ManagedProcess]]:
        """Every service of the catalog on these servers, not yet started."""
        return service_processes(
            self.server_url,
            self.nats_url,
            self.payments,
            self.providers,
            self.data,
            self.edge_port,
        )


@contextmanager
def scratch_servers() -> Iterator[tuple[Servers, ExitStack]]:
    """Postgres, NATS, localstripe and local message providers in a scratch directory
    (embedded servers unless DATABASE_URL / NATS_URL are set); services and edges are started
    by the caller."""
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="stride-bench-") as scratch:
        data = Path(scratch)
        data.chmod(0o755)
        server_url = start_postgres(data, free_port(), stack)
        nats_url = start_nats(data, free_port(), stack)
        payments = start_stripe(data, free_port(), stack)
        providers = start_providers(data, stack)
        yield Servers(data, free_port(), server_url, nats_url, payments, providers), stack


@contextmanager
def scratch_stack() -> Iterator[tuple[Stack, ExitStack]]:
    """`scratch_servers` and every service of the catalog on them; edges are started by the
    caller."""
    with scratch_servers() as (servers, stack):
        environments = start_services(servers.service_processes(), stack)
        yield Stack(servers.data, servers.edge_port, environments), stack


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


def post(
    connection: http.client.HTTPConnection, path: str, body: dict[str, Any], token: str = ""
) -> Any:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    connection.request("POST", path, json.dumps(body), headers)
    response = connection.getresponse()
    return response.status, reply_body(response.getheader("content-type"), response.read())


def reply_body(content_type: str | None, payload: bytes) -> dict[str, Any]:
    """A reply's JSON body; what is not JSON (Envoy's own 503 or 504 text) as `{"text": …}`,
    so a bench counts such replies instead of crashing on them."""
    if payload and (content_type or "").startswith("application/json"):
        try:
            return dict(json.loads(payload))
        except ValueError:
            pass
    return {"text": payload[:200].decode(errors="replace")} if payload else {}


@contextmanager
def cpu_hog(cores: int) -> Iterator[None]:
    """`cores` processes spinning, each pinned to its own core: a studio's machine is never
    idle, and figures taken beside other work say how the platform holds up when it is not."""
    spinners = []
    try:
        for core in range(cores):
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            os.sched_setaffinity(spinner.pid, {core % (os.cpu_count() or 1)})
            spinners.append(spinner)
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def get(connection: http.client.HTTPConnection, path: str, token: str) -> int:
    connection.request("GET", path, headers={"authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    return response.status


def start_edge(
    data: Path, name: str, stack: ExitStack, *, verify_jwt: bool, port: int | None = None
) -> int:
    port, admin = port or free_port(), free_port()
    config_path = write_edge_bundle(
        data / name,
        listen_address="127.0.0.1",
        listen_port=port,
        admin_port=admin,
        upstream_host="127.0.0.1",
        cors_origins=(),
        auth_burst_per_client=1_000_000,
        auth_per_second_per_client=1_000_000,
        refresh_burst_per_client=1_000_000,
        refresh_per_second_per_client=1_000_000,
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


def signed_in_member(port: int) -> tuple[str, str]:
    """(resource name, access token) of the demo member."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    email = DEMO_USERS[0][0]
    status, body = post(
        connection, "/v1/sessions:signIn", {"email": email, "password": DEMO_PASSWORD}
    )
    if status != 200:
        raise RuntimeError(f"sign-in failed with {status}: {body}")
    return body["user"]["name"], body["credentials"]["accessToken"]
