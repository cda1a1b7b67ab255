"""Forged and misused access tokens are refused at the edge and by the service itself.

Every attack runs twice: over REST through Envoy (jwt_authn) and over gRPC straight to
Identity's port, bypassing the edge (the in-process verifier), so neither layer relies on the
other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import grpc
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from e2e.support import Account, Edge, bearer, call, new_account
from stride.identity.adapters.signing_keys import SigningKeys
from stride.identity.config import IdentitySettings
from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc
from stride.platform.clock import utcnow
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.grpc.server import RunningServer

ISSUER, AUDIENCE = "https://identity.stride.local", "stride"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned_parts(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def decoded_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


class Forger:
    """Holds Identity's real current key (read as an insider would, to build tokens that are
    validly signed but wrong in one claim) and an attacker's key."""

    def __init__(self, kid: str, key: Ed25519PrivateKey, victim: Account) -> None:
        self.kid, self.key, self.victim = kid, key, victim
        self.attacker_key = Ed25519PrivateKey.generate()

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": self.victim.name.removeprefix("users/"),
            "sid": str(uuid.uuid4()),
            "roles": ["member", "admin"],
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        return {**base, **overrides}

    def signed(
        self, claims: dict[str, Any], key: Ed25519PrivateKey | None = None, **header: Any
    ) -> str:
        headers = {"kid": self.kid, "typ": "at+jwt", **header}
        return jwt.encode(claims, key or self.key, algorithm="EdDSA", headers=headers)


@pytest_asyncio.fixture(scope="module")
async def forger(
    identity_config: IdentitySettings, edge: Edge, nats_url: str, event_prefix: str
) -> AsyncIterator[Forger]:
    engine = create_engine(identity_config.database_url)
    keys = SigningKeys(
        session_factory(engine),
        DataKeyring.from_spec(identity_config.data_keys, identity_config.data_key_active),
        publish_ahead=timedelta(0),
        clock=utcnow,
    )
    kid, key = await keys.current()
    victim = await new_account(edge, nats_url, event_prefix)
    yield Forger(kid, key, victim)
    await engine.dispose()


def attack_none(forger: Forger) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": forger.kid}
    return unsigned_parts(header, forger.claims()) + "."


def attack_hs256_with_the_public_key(forger: Forger) -> str:
    public_pem = forger.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = unsigned_parts({"alg": "HS256", "kid": forger.kid}, forger.claims())
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def attack_expired(forger: Forger) -> str:
    an_hour_ago = int(time.time()) - 3600
    return forger.signed(
        forger.claims(iat=an_hour_ago - 600, nbf=an_hour_ago - 600, exp=an_hour_ago)
    )


def attack_wrong_audience(forger: Forger) -> str:
    return forger.signed(forger.claims(aud="another-app"))


def attack_wrong_issuer(forger: Forger) -> str:
    return forger.signed(forger.claims(iss="https://evil.example"))


def attack_tampered_payload(forger: Forger) -> str:
    header, _payload, signature = forger.victim.access_token.split(".")
    claims = decoded_claims(forger.victim.access_token)
    escalated = b64(json.dumps({**claims, "roles": ["member", "admin"]}).encode())
    return f"{header}.{escalated}.{signature}"


def attack_unknown_kid(forger: Forger) -> str:
    return forger.signed(forger.claims(), forger.attacker_key, kid="attacker-key")


def attack_known_kid_wrong_key(forger: Forger) -> str:
    return forger.signed(forger.claims(), forger.attacker_key)


ATTACKS: list[Callable[[Forger], str]] = [
    attack_none,
    attack_hs256_with_the_public_key,
    attack_expired,
    attack_wrong_audience,
    attack_wrong_issuer,
    attack_tampered_payload,
    attack_unknown_kid,
    attack_known_kid_wrong_key,
]


async def read_someone_else(token: str, edge: Edge, forger: Forger) -> int:
    """Reads a stranger's account: only an admin may, so success means the forgery worked."""
    stranger = f"users/{uuid.uuid4()}"
    return (await call("GET", f"{edge.base_url}/v1/{stranger}", **bearer(token))).status


async def direct_grpc(token: str, identity: RunningServer) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity.port}") as channel:
        client = pb_grpc.IdentityServiceStub(channel)
        try:
            await client.GetUser(
                pb.GetUserRequest(name=f"users/{uuid.uuid4()}"),
                metadata=[("authorization", f"Bearer {token}")],
                timeout=10,
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


async def test_a_correctly_signed_admin_token_is_accepted_so_the_forger_is_sound(
    forger: Forger, edge: Edge, identity: RunningServer
) -> None:
    token = forger.signed(forger.claims())
    assert await read_someone_else(token, edge, forger) == 404  # Admin: allowed, no such user.
    assert await direct_grpc(token, identity) == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.__name__)
async def test_the_attack_is_refused_at_the_edge(
    attack: Callable[[Forger], str], forger: Forger, edge: Edge
) -> None:
    # Envoy answers 403 for a valid token meant for another audience, 401 for the rest.
    expected = 403 if attack is attack_wrong_audience else 401
    assert await read_someone_else(attack(forger), edge, forger) == expected


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.__name__)
async def test_the_attack_is_refused_by_the_service_without_the_edge(
    attack: Callable[[Forger], str], forger: Forger, identity: RunningServer
) -> None:
    assert await direct_grpc(attack(forger), identity) == grpc.StatusCode.UNAUTHENTICATED


async def test_a_reused_refresh_token_is_refused_over_direct_grpc_too(
    edge: Edge, identity: RunningServer, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity.port}") as channel:
        client = pb_grpc.IdentityServiceStub(channel)
        request = pb.RefreshSessionRequest(refresh_token=account.refresh_token)
        renewed = await client.RefreshSession(request, timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as reused:
            await client.RefreshSession(request, timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as family:
            await client.RefreshSession(
                pb.RefreshSessionRequest(refresh_token=renewed.credentials.refresh_token),
                timeout=10,
            )
    assert reused.value.code() == family.value.code() == grpc.StatusCode.UNAUTHENTICATED
