"""Identity's sign-up and the edge's plumbing, through a real Envoy, Postgres and NATS."""

from __future__ import annotations

import asyncio
import json
import ssl
import uuid
from typing import Any
from urllib.error import URLError
from urllib.request import Request, urlopen

import grpc
import pytest

from e2e.support import (
    APP_ORIGIN,
    PASSWORD,
    Edge,
    EdgeFactory,
    call,
    descriptions,
    new_account,
    next_event,
    opened_token,
    reason,
    sign_up_body,
    violations,
)
from stride.gateway.envoy_config import EdgeTls
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc
from stride.platform.local.certificates import self_signed_certificate
from stride.platform.local.ports import free_port


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
    assert violations(reply) == {"request_id": "request_id.reused"}


async def test_bad_input_is_a_400_with_localized_field_violations(edge: Edge) -> None:
    body = sign_up_body(email="not-an-email", password="short")
    english = await call("POST", f"{edge.base_url}/v1/users:signUp", body, accept_language="en")
    arabic = await call("POST", f"{edge.base_url}/v1/users:signUp", body, accept_language="ar")
    assert english.status == arabic.status == 400
    assert violations(english) == {"email": "field.invalid_email", "password": "field.too_short"}
    assert "valid email" in descriptions(english)["email"]
    assert "بريد" in descriptions(arabic)["email"]
    assert english.body["message"] == "Some fields are not valid."


async def test_members_read_only_their_own_account(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    mine = await new_account(edge, nats_url, event_prefix)
    theirs = await new_account(edge, nats_url, event_prefix)
    own = await call("GET", f"{edge.base_url}/v1/{mine.name}", **mine.auth)
    other = await call("GET", f"{edge.base_url}/v1/{theirs.name}", **mine.auth)
    anonymous = await call("GET", f"{edge.base_url}/v1/{mine.name}")
    assert own.status == 200
    assert own.body["email"] == mine.email
    assert own.body["emailVerified"] is True
    assert other.status == 403
    assert anonymous.status == 401


async def test_unmapped_paths_are_404_once_authenticated(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    assert (await call("GET", f"{edge.base_url}/v1/nothing/here", **account.auth)).status == 404
    # Without a token the edge answers first, and says nothing about what exists.
    assert (await call("GET", f"{edge.base_url}/v1/nothing/here")).status == 401


async def test_cors_preflight_allows_the_app_origin(edge: Edge) -> None:
    reply = await call(
        "OPTIONS",
        f"{edge.base_url}/v1/users:signUp",
        origin=APP_ORIGIN,
        access_control_request_method="POST",
    )
    assert reply.headers.get("access-control-allow-origin") == APP_ORIGIN


async def test_native_grpc_works_through_the_same_port(edge: Edge) -> None:
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        response = await pb_grpc.IdentityServiceStub(channel).SignUp(
            pb.SignUpRequest(email=f"g-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD),
            timeout=10,
        )
    assert response.user.name.startswith("users/")


async def test_sign_up_publishes_user_registered_with_a_sealed_verification_token(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    body = sign_up_body()
    user = (await call("POST", f"{edge.base_url}/v1/users:signUp", body)).body["user"]
    envelope, payload, headers = await next_event(
        nats_url,
        event_prefix,
        "identity.user.registered.v1",
        UserRegistered,
        lambda registered: registered.user == user["name"],
    )
    assert payload.email == body["email"]
    sealed = payload.sealed_email_verification_token
    token = opened_token(envelope, user["name"], body["email"], sealed)
    assert len(token) >= 40
    assert token.encode() not in envelope.SerializeToString()
    assert envelope.source == "identity"
    assert envelope.subject == user["name"]
    assert headers["Nats-Msg-Id"] == envelope.id


async def test_unknown_fields_are_400s_naming_each_one(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    body = {**sign_up_body(), "nickName": "Lulu", "password_confirmation": "x"}
    english = await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    arabic = await call("POST", f"{edge.base_url}/v1/users:signUp", body, accept_language="ar")
    assert english.status == arabic.status == 400
    assert violations(english) == {
        "nickName": "field.unknown",
        "password_confirmation": "field.unknown",
    }
    assert reason(english) == "UNKNOWN_FIELD"
    assert descriptions(arabic)["nickName"] == "هذا الحقل غير موجود في الطلب."
    assert arabic.body["message"] == "بعض الحقول غير صالحة."

    account = await new_account(edge, nats_url, event_prefix)
    nested = await call(
        "PATCH",
        f"{edge.base_url}/v1/{account.name}?updateMask=displayName",
        {"displayName": "Noura", "profile": {"bio": "x"}},
        **account.auth,
    )
    assert violations(nested) == {"user.profile": "field.unknown"}
    # Field names in either JSON form are known; nothing was changed by the refused request.
    fine = await call(
        "PATCH",
        f"{edge.base_url}/v1/{account.name}?updateMask=display_name",
        {"display_name": "Noura"},
        **account.auth,
    )
    assert fine.status == 200, fine.body


async def test_malformed_json_is_a_400(edge: Edge) -> None:
    reply = await call("POST", f"{edge.base_url}/v1/users:signUp", b'{"email": "a@b.c",')
    assert reply.status == 400
    assert reason(reply) == "MALFORMED_JSON"


async def test_huge_payloads_are_400s_with_a_localized_violation(edge: Edge) -> None:
    huge = json.dumps({**sign_up_body(), "displayName": "x" * (2 * 1024 * 1024)}).encode()
    arabic = await call("POST", f"{edge.base_url}/v1/users:signUp", huge, accept_language="ar")
    english = await call("POST", f"{edge.base_url}/v1/users:signUp", huge)
    assert arabic.status == english.status == 400
    assert reason(arabic) == "REQUEST_TOO_LARGE"
    assert violations(arabic) == {"body": "request.too_large"}
    assert descriptions(arabic)["body"] == "الطلب كبير جدًا."
    assert descriptions(english)["body"] == "The request is too large."
    long_name = await call(
        "POST", f"{edge.base_url}/v1/users:signUp", sign_up_body(displayName="x" * 5000)
    )
    assert long_name.status == 400
    assert violations(long_name) == {"display_name": "field.too_long"}


async def test_edge_errors_are_localized_json_statuses(edge: Edge) -> None:
    missing = await call("GET", f"{edge.base_url}/v1/users/{uuid.uuid4()}", accept_language="ar")
    assert missing.status == 401
    assert missing.body["code"] == 16
    assert reason(missing) == "UNAUTHENTICATED"
    assert missing.body["message"] == "يرجى تسجيل الدخول مرة أخرى."


async def test_the_edge_speaks_https_and_grpc_over_tls(
    edges: EdgeFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    certificate, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    tls_port = free_port()
    edges(tls=EdgeTls(tls_port, certificate, key))
    trusted = ssl.create_default_context(cafile=str(certificate))
    body = json.dumps(sign_up_body()).encode()
    request = Request(
        f"https://localhost:{tls_port}/v1/users:signUp",
        data=body,
        headers={"content-type": "application/json"},
    )
    reply = await asyncio.to_thread(_open, request, trusted)
    assert reply["user"]["name"].startswith("users/")

    credentials = grpc.ssl_channel_credentials(root_certificates=certificate.read_bytes())
    async with grpc.aio.secure_channel(f"localhost:{tls_port}", credentials) as channel:
        response = await pb_grpc.IdentityServiceStub(channel).SignUp(
            pb.SignUpRequest(email=f"tls-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD),
            timeout=10,
        )
    assert response.user.name.startswith("users/")

    untrusted = ssl.create_default_context()  # The system's CAs don't know this certificate.
    with pytest.raises(URLError):
        await asyncio.to_thread(_open, request, untrusted)


def _open(request: Request, context: ssl.SSLContext) -> dict[str, Any]:
    with urlopen(request, timeout=10, context=context) as response:  # noqa: S310
        return dict(json.loads(response.read()))


async def test_concurrent_retries_of_one_request_create_one_account(edge: Edge) -> None:
    body = sign_up_body(requestId=str(uuid.uuid4()))
    replies = await asyncio.gather(
        *(call("POST", f"{edge.base_url}/v1/users:signUp", body) for _ in range(8))
    )
    assert {reply.status for reply in replies} == {200}
    assert len({reply.body["user"]["name"] for reply in replies}) == 1
    # A different request for the same address is not a replay: it answers as a sign-up for a
    # free address would (identity_accounts_test), under another name.
    again = await call(
        "POST", f"{edge.base_url}/v1/users:signUp", sign_up_body(email=body["email"])
    )
    assert again.status == 200
    assert again.body["user"]["name"] != replies[0].body["user"]["name"]
