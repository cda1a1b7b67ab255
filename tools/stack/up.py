"""`./pants up`: the whole platform on this machine, with demo data.

Postgres (DATABASE_URL or an embedded server), NATS with JetStream (NATS_URL or an embedded
server), localstripe standing in for Stripe (its webhooks come back through Envoy, signed),
local FCM, SMTP and Twilio servers that keep every push, email and text in `<data>/outbox/`,
a local Strava, Fitbit and Garmin whose webhooks come back through Envoy,
every service of the catalog, and Envoy in front, all under one data directory so a restart
keeps the data (localstripe's customers, cards and payments too). Ctrl-C stops everything,
services first so they drain.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import sys
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stack.keys import load_or_create_data_keys, load_or_create_service_key
from stack.providers import LocalProviders, start_providers
from stack.seed import DEMO_PASSWORD, DEMO_STUDIO, seed_demo
from stride.gateway.catalog import (
    ACTIVITY,
    BILLING,
    IDENTITY,
    NOTIFICATIONS,
    SCHEDULING,
    SERVICES,
    ServiceEntry,
)
from stride.gateway.envoy_config import EdgeTls
from stride.gateway.render import write_edge_bundle
from stride.identity.config import IdentitySettings
from stride.platform.config import load_settings
from stride.platform.db.engine import ensure_database
from stride.platform.local.certificates import self_signed_certificate
from stride.platform.local.envoy import EnvoyProcess, validate_config
from stride.platform.local.nats import EmbeddedNats
from stride.platform.local.postgres import EmbeddedPostgres
from stride.platform.local.process import ManagedProcess
from stride.platform.local.stripe_emulator import LocalStripe
from stride.platform.service_credentials import trusted_key_entry

HEALTH_TIMEOUT_SECONDS = 60.0
STRIPE_API_KEY = "sk_test_stride_local"
# Identity seals the tokens its events carry; Notifications opens them to email the links.
EVENT_SECRET_HOLDERS = (IDENTITY, NOTIFICATIONS)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./pants up", description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("STRIDE_DATA_DIR", ".stride"))
    )
    parser.add_argument("--rest-port", type=int, default=8080)
    parser.add_argument("--tls-port", type=int, default=8443)
    parser.add_argument("--admin-port", type=int, default=9901)
    parser.add_argument("--postgres-port", type=int, default=55432)
    parser.add_argument("--nats-port", type=int, default=54222)
    parser.add_argument("--stripe-port", type=int, default=58420)
    return parser.parse_args(argv)


def service_keys(data: Path) -> dict[str, str]:
    """Every service's own key (STRIDE_SERVICE_KEY), by service name."""
    return {
        service.name: load_or_create_service_key(
            data / "keys" / f"{service.name}.service-key", service.name
        )
        for service in SERVICES
    }


def service_environment(
    service: ServiceEntry,
    database_url: str,
    nats_url: str,
    data: Path,
    rest_port: int,
    keys: dict[str, str],
) -> dict[str, str]:
    data_keys, active_key = load_or_create_data_keys(data / "keys" / f"{service.name}.json")
    environment = {
        "STRIDE_GRPC_PORT": str(service.local_port),
        "STRIDE_METRICS_PORT": str(service.metrics_port),
        "STRIDE_DATABASE_URL": database_url,
        "STRIDE_NATS_URL": nats_url,
        "STRIDE_EVENTS_PREFIX": "stride",
        "STRIDE_LOG_FORMAT": "json",
        # Identity verifies against its own key table; every other service fetches the JWKS
        # through the edge, as it would in a cluster.
        "STRIDE_JWKS_URL": f"http://127.0.0.1:{rest_port}/.well-known/jwks.json",
        "STRIDE_BILLING_TARGET": f"127.0.0.1:{BILLING.local_port}",
        "STRIDE_SCHEDULING_TARGET": f"127.0.0.1:{SCHEDULING.local_port}",
        "STRIDE_DATA_KEYS": data_keys,
        "STRIDE_DATA_KEY_ACTIVE": active_key,
        # Who this service is to the others, and whom it lets call its internal RPCs (each
        # RPC's contract still names which of them may).
        "STRIDE_SERVICE_KEY": keys[service.name],
        "STRIDE_TRUSTED_SERVICE_KEYS": ",".join(
            trusted_key_entry(name, spec) for name, spec in sorted(keys.items())
        ),
    }
    if service in EVENT_SECRET_HOLDERS:
        event_keys, event_key = load_or_create_data_keys(data / "keys" / "event-secrets.json")
        environment |= {
            "STRIDE_EVENT_SECRET_KEYS": event_keys,
            "STRIDE_EVENT_SECRET_KEY_ACTIVE": event_key,
        }
    return environment


@dataclass(frozen=True)
class LocalPayments:
    api_base: str
    webhook_secret: str

    def environment(self) -> dict[str, str]:
        return {
            "STRIDE_STRIPE_API_KEY": STRIPE_API_KEY,
            "STRIDE_STRIPE_API_BASE": self.api_base,
            "STRIDE_STRIPE_WEBHOOK_SECRET": self.webhook_secret,
        }

    def send_webhooks_to(self, url: str) -> None:
        """What one does in Stripe's dashboard: our endpoint, and the secret events are signed
        with."""
        form = urllib.parse.urlencode({"url": url, "secret": self.webhook_secret}).encode()
        request = urllib.request.Request(  # noqa: S310 - localstripe on loopback.
            f"{self.api_base}/_config/webhooks/stride",
            data=form,
            headers={"authorization": f"Bearer {STRIPE_API_KEY}"},
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass


def start_stripe(data: Path, port: int, stack: ExitStack, *, durable: bool = True) -> LocalPayments:
    """localstripe, keeping its store under `data` across restarts if `durable`: Billing's
    database remembers the Stripe customers it made."""
    store = data / "stripe" / "store.pickle" if durable else None
    emulator = LocalStripe(data / "logs", port, store)
    emulator.start()
    stack.callback(emulator.stop)
    return LocalPayments(emulator.api_base, f"whsec_{secrets.token_hex(16)}")


def start_postgres(data: Path, port: int, stack: ExitStack) -> str:
    if url := os.environ.get("DATABASE_URL"):
        return url
    server = EmbeddedPostgres(data / "postgres", port, durable=True)
    server.start()
    stack.callback(server.stop)
    return server.url


def start_nats(data: Path, port: int, stack: ExitStack) -> str:
    if url := os.environ.get("NATS_URL"):
        return url
    server = EmbeddedNats(data / "nats", port)
    server.start()
    stack.callback(server.stop)
    return server.url


def serving(service: ServiceEntry) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{service.local_port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def service_processes(
    server_url: str,
    nats_url: str,
    payments: LocalPayments,
    providers: LocalProviders,
    data: Path,
    rest_port: int,
) -> list[tuple[ServiceEntry, dict[str, str], ManagedProcess]]:
    """Every service of the catalog, its database made, with the environment it runs with and
    its process, not yet started."""
    processes = []
    keys = service_keys(data)
    for service in SERVICES:
        database_url = asyncio.run(ensure_database(server_url, f"stride_{service.name}"))
        environment = service_environment(service, database_url, nats_url, data, rest_port, keys)
        if service is BILLING:
            environment |= payments.environment()
        if service is NOTIFICATIONS:
            environment |= providers.environment(f"http://127.0.0.1:{rest_port}")
        if service is ACTIVITY:
            environment |= providers.strava.environment(f"http://127.0.0.1:{rest_port}")
            environment |= providers.fitbit.environment(f"http://127.0.0.1:{rest_port}")
            environment |= providers.garmin.environment(f"http://127.0.0.1:{rest_port}")
        process = ManagedProcess(
            service.name,
            [sys.executable, "-m", service.main_module],
            data / "logs" / f"{service.name}.log",
            env=environment,
        )
        processes.append((service, environment, process))
    return processes


def start_services(
    processes: list[tuple[ServiceEntry, dict[str, str], ManagedProcess]], stack: ExitStack
) -> dict[str, dict[str, str]]:
    """Starts `service_processes` all at once, returns when each is serving; returns service
    name → the environment it runs with."""
    for _, _, process in processes:
        process.start()
        stack.callback(process.stop)
    for service, _, process in processes:
        process.wait_until(partial(serving, service), HEALTH_TIMEOUT_SECONDS)
    return {service.name: environment for service, environment, _ in processes}


def start_envoy(
    data: Path, rest_port: int, tls_port: int, admin_port: int, stack: ExitStack
) -> None:
    certificate, key = self_signed_certificate(data / "keys" / "edge-tls")
    config_path = write_edge_bundle(
        data / "envoy",
        listen_address="127.0.0.1",
        listen_port=rest_port,
        admin_port=admin_port,
        upstream_host="127.0.0.1",
        cors_origins=("http://localhost:3000", "http://127.0.0.1:3000"),
        tls=EdgeTls(tls_port, certificate, key),
    )
    validate_config(config_path)
    envoy = EnvoyProcess(config_path, admin_port, data / "logs" / "envoy.log")
    envoy.start()
    stack.callback(envoy.stop)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    data = args.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o755)  # An embedded Postgres may run as another user (see local.postgres).
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with ExitStack() as stack:
        server_url = start_postgres(data, args.postgres_port, stack)
        nats_url = start_nats(data, args.nats_port, stack)
        payments = start_stripe(data, args.stripe_port, stack)
        providers = start_providers(data, stack)
        processes = service_processes(
            server_url, nats_url, payments, providers, data, args.rest_port
        )
        environments = start_services(processes, stack)
        start_envoy(data, args.rest_port, args.tls_port, args.admin_port, stack)
        base_url = f"http://127.0.0.1:{args.rest_port}"
        payments.send_webhooks_to(f"{base_url}/v1/webhooks/stripe")
        providers.strava.subscribe(base_url)
        providers.fitbit.add_subscriber(base_url)
        providers.garmin.configure_push(base_url)
        identity = load_settings(IdentitySettings, environments["identity"])
        users = seed_demo(f"127.0.0.1:{args.rest_port}", identity, datetime.now(UTC))
        print_summary(
            base_url, args.tls_port, users, time.monotonic() - started, data, payments.api_base
        )
        while not stopping:
            time.sleep(0.2)
        print("\nstopping…", flush=True)
    print("stopped.")
    return 0


def print_summary(
    base_url: str,
    tls_port: int,
    users: dict[str, str],
    elapsed: float,
    data: Path,
    stripe_api_base: str,
) -> None:
    member_email, member_name = next(iter(users.items()))
    logins = "\n".join(f"    {email} / {DEMO_PASSWORD}" for email in users)
    print(
        f"""
Stride is up — healthy in {elapsed:.1f} s.

  REST base URL   {base_url}
  With TLS        https://localhost:{tls_port}  (self-signed: {data}/keys/edge-tls/edge.crt)
  Data and logs   {data}
  Payments        localstripe at {stripe_api_base} (key {STRIPE_API_KEY}; cards 4242…4242 pay,
                  4000…0002 is declined, 4000 0025 0000 3155 asks for 3-D Secure)
  Messages sent   {data}/outbox: pushes.jsonl, texts.jsonl, mail/*.eml (local FCM, Twilio
                  and SMTP servers stand in for the real ones), strava-events.jsonl,
                  fitbit-notifications.jsonl and garmin-pushes.jsonl (what the local Strava,
                  Fitbit and Garmin sent; members connect to them from
                  POST /v1/users/{{user}}/providerConnections/{{strava,fitbit,garmin}}:start)
  Demo logins
{logins}

  Try:
    TOKEN=$(curl -s {base_url}/v1/sessions:signIn -H 'content-type: application/json' \\
      -d '{{"email": "{member_email}", "password": "{DEMO_PASSWORD}"}}' \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["credentials"]["accessToken"])')
    curl -s {base_url}/v1/{member_name} -H "authorization: Bearer $TOKEN"
    curl -s -G "{base_url}/v1/{DEMO_STUDIO}/classSessions" \\
      --data-urlencode 'filter=free_spots > 0' -H "authorization: Bearer $TOKEN"

Ctrl-C stops everything.""",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
