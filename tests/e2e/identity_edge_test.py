"""Identity through a real Envoy, Postgres and NATS: REST as mobile clients use it, and gRPC."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import grpc
import jwt
import nats
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stride.events.v1.envelope_pb2 import Envelope
from stride.gateway.catalog import IDENTITY
from stride.gateway.descriptors import build_descriptor_set
from stride.gateway.envoy_config import EdgeSettings, render
from stride.identity.config import IdentitySettings
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.identity.main import build_app
from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc
from stride.platform.events.envelope import stream_name
from stride.platform.grpc.server import RunningServer, start
from stride.platform.local.envoy import EnvoyProcess, validate_config, write_config
from stride.platform.local.ports import free_port

ISSUER, AUDIENCE, KID = "https://identity.stride.local", "stride", "test-key-1"
PASSWORD = "a long enough password"


@dataclass(frozen=True)
class Edge:
    base_url: str
    grpc_target: str
    signing_key: Ed25519PrivateKey


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def jwks_file(signing_key: Ed25519PrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(signing_key.public_key()))
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": KID, "alg": "EdDSA", "use": "sig"}]}))
    return path


@pytest_asyncio.fixture(scope="module")
async def identity(
    database_url: str, nats_url: str, event_prefix: str, jwks_file: Path
) -> AsyncIterator[RunningServer]:
    settings = IdentitySettings(
        database_url=database_url,
        nats_url=nats_url,
        events_prefix=event_prefix,
        grpc_port=free_port(),
        jwks_file=jwks_file,
        shutdown_grace_seconds=1,
    )
    running = await start(await build_app(settings))
    yield running
    await running.stop()


@pytest.fixture(scope="module")
def edge(
    identity: RunningServer,
    signing_key: Ed25519PrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Edge]:
    workdir = tmp_path_factory.mktemp("envoy")
    descriptor = workdir / "descriptor.binpb"
    descriptor.write_bytes(build_descriptor_set(IDENTITY.descriptors))
    listen_port, admin_port = free_port(), free_port()
    config = render(
        [IDENTITY],
        EdgeSettings(
            listen_port=listen_port,
            admin_port=admin_port,
            descriptor_path=descriptor,
            upstreams={"identity": ("127.0.0.1", identity.port)},
            cors_origins=("https://app.stride.example",),
        ),
    )
    config_path = write_config(config, workdir / "envoy.json")
    validate_config(config_path)
    envoy = EnvoyProcess(config_path, admin_port, workdir / "envoy.log")
    envoy.start()
    yield Edge(f"http://127.0.0.1:{listen_port}", f"127.0.0.1:{listen_port}", signing_key)
    envoy.stop()


def _http(
    method: str, url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Reply:
    data = json.dumps(body).encode() if body is not None else None
    request = Request(  # noqa: S310 - loopback URLs built by the test.
        url,
        data=data,
        method=method,
        headers={
            "content-type": "application/json",
            **(headers or {}),
        },
    )
    try:
        with urlopen(request, timeout=10) as response:  # noqa: S310
            raw, status, response_headers = response.read(), response.status, response.headers
    except HTTPError as error:
        raw, status, response_headers = error.read(), error.code, error.headers
    lowered = {key.lower(): value for key, value in response_headers.items()}
    is_json = lowered.get("content-type", "").startswith("application/json")
    return Reply(status, json.loads(raw) if raw and is_json else {}, lowered)


async def call(method: str, url: str, body: dict[str, Any] | None = None, **headers: str) -> Reply:
    # Blocking HTTP runs in a thread: the service under test shares this event loop.
    normalized = {key.replace("_", "-"): value for key, value in headers.items()}
    return await asyncio.to_thread(_http, method, url, body, normalized)


def access_token(key: Ed25519PrivateKey, user_name: str, roles: list[str], **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_name.removeprefix("users/"),
        "roles": roles,
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": KID})


def sign_up_body(**overrides: str) -> dict[str, str]:
    return {
        "email": f"member-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "displayName": "Layla",
        "timeZone": "Asia/Riyadh",
        **overrides,
    }


async def test_sign_up_over_rest_returns_the_user_as_lower_camel_json(edge: Edge) -> None:
    reply = await call(
        "POST", f"{edge.base_url}/v1/users:signUp", sign_up_body(), accept_language="ar-SA,en;q=0.8"
    )
    assert reply.status == 200, reply.body
    user = reply.body["user"]
    assert user["name"].startswith("users/")
    assert user["displayName"] == "Layla"
    assert user["emailVerified"] is False
    assert user["languageCode"] == "ar"  # From Accept-Language, normalized by Envoy.
    assert "password" not in json.dumps(reply.body)
    assert reply.headers.get("x-request-id")


async def test_a_retried_sign_up_returns_the_first_response(edge: Edge) -> None:
    body = sign_up_body(requestId=str(uuid.uuid4()))
    first = await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    again = await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    assert first.status == again.status == 200
    assert again.body == first.body


async def test_a_request_id_reused_for_another_body_is_rejected(edge: Edge) -> None:
    request_id = str(uuid.uuid4())
    await call("POST", f"{edge.base_url}/v1/users:signUp", sign_up_body(requestId=request_id))
    reply = await call(
        "POST", f"{edge.base_url}/v1/users:signUp", sign_up_body(requestId=request_id)
    )
    assert reply.status == 400
    assert _violations(reply) == {"request_id": "request_id.reused"}


async def test_bad_input_is_a_400_with_localized_field_violations(edge: Edge) -> None:
    body = sign_up_body(email="not-an-email", password="short")
    english = await call("POST", f"{edge.base_url}/v1/users:signUp", body, accept_language="en")
    arabic = await call("POST", f"{edge.base_url}/v1/users:signUp", body, accept_language="ar")
    assert english.status == arabic.status == 400
    assert _violations(english) == {"email": "field.invalid_email", "password": "field.too_short"}
    assert "valid email" in _descriptions(english)["email"]
    assert "بريد" in _descriptions(arabic)["email"]
    assert english.body["message"] == "Some fields are not valid."


async def test_a_taken_email_is_a_409(edge: Edge) -> None:
    body = sign_up_body()
    await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    reply = await call(
        "POST", f"{edge.base_url}/v1/users:signUp", sign_up_body(email=body["email"].upper())
    )
    assert reply.status == 409
    assert _error_info(reply)["reason"] == "EMAIL_TAKEN"


async def test_members_read_only_their_own_account(edge: Edge) -> None:
    mine = (await call("POST", f"{edge.base_url}/v1/users:signUp", sign_up_body())).body["user"]
    theirs = (await call("POST", f"{edge.base_url}/v1/users:signUp", sign_up_body())).body["user"]
    token = access_token(edge.signing_key, mine["name"], ["member"])
    own = await call("GET", f"{edge.base_url}/v1/{mine['name']}", authorization=f"Bearer {token}")
    other = await call(
        "GET", f"{edge.base_url}/v1/{theirs['name']}", authorization=f"Bearer {token}"
    )
    anonymous = await call("GET", f"{edge.base_url}/v1/{mine['name']}")
    assert own.status == 200
    assert own.body["email"] == mine["email"]
    assert other.status == 403
    assert anonymous.status == 401


async def test_admins_read_any_account(edge: Edge) -> None:
    member = (await call("POST", f"{edge.base_url}/v1/users:signUp", sign_up_body())).body["user"]
    token = access_token(edge.signing_key, f"users/{uuid.uuid4()}", ["admin"])
    reply = await call(
        "GET", f"{edge.base_url}/v1/{member['name']}", authorization=f"Bearer {token}"
    )
    missing = await call(
        "GET", f"{edge.base_url}/v1/users/{uuid.uuid4()}", authorization=f"Bearer {token}"
    )
    assert reply.status == 200
    assert missing.status == 404


async def test_unmapped_paths_are_404(edge: Edge) -> None:
    assert (await call("GET", f"{edge.base_url}/v1/nothing/here")).status == 404


async def test_cors_preflight_allows_the_app_origin(edge: Edge) -> None:
    reply = await call(
        "OPTIONS",
        f"{edge.base_url}/v1/users:signUp",
        origin="https://app.stride.example",
        access_control_request_method="POST",
    )
    assert reply.headers.get("access-control-allow-origin") == "https://app.stride.example"


async def test_native_grpc_works_through_the_same_port(edge: Edge) -> None:
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        response = await pb_grpc.IdentityServiceStub(channel).SignUp(
            pb.SignUpRequest(email=f"g-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD),
            timeout=10,
        )
    assert response.user.name.startswith("users/")


async def test_sign_up_publishes_user_registered(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    body = sign_up_body()
    user = (await call("POST", f"{edge.base_url}/v1/users:signUp", body)).body["user"]
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        subscription = await js.pull_subscribe(
            f"{event_prefix}.identity.user.registered.v1",
            stream=stream_name(event_prefix, "identity"),
        )
        found = None
        deadline = time.monotonic() + 20
        while found is None and time.monotonic() < deadline:
            try:
                messages = await subscription.fetch(50, timeout=1)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for message in messages:
                envelope = Envelope.FromString(message.data)
                payload = UserRegistered()
                envelope.data.Unpack(payload)
                if payload.user == user["name"]:
                    found = (envelope, payload, message.headers)
    finally:
        await connection.close()
    assert found is not None, "user.registered never reached NATS"
    envelope, payload, headers = found
    assert payload.email == body["email"]
    assert envelope.source == "identity"
    assert envelope.subject == user["name"]
    assert headers is not None
    assert headers["Nats-Msg-Id"] == envelope.id


def _details(reply: Reply, type_suffix: str) -> dict[str, Any]:
    for detail in reply.body.get("details", []):
        if detail["@type"].endswith(type_suffix):
            return dict(detail)
    raise AssertionError(f"no {type_suffix} in {reply.body}")


def _violations(reply: Reply) -> dict[str, str]:
    violations = _details(reply, "google.rpc.BadRequest")["fieldViolations"]
    return {v["field"]: v["reason"] for v in violations}


def _descriptions(reply: Reply) -> dict[str, str]:
    violations = _details(reply, "google.rpc.BadRequest")["fieldViolations"]
    return {v["field"]: v["description"] for v in violations}


def _error_info(reply: Reply) -> dict[str, Any]:
    return _details(reply, "google.rpc.ErrorInfo")
