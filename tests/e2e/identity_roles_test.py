"""Roles per studio, who may call what, and signing-key rotation."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from e2e.support import (
    Account,
    Edge,
    call,
    identity_settings,
    new_account,
    new_admin,
    next_event,
    sign_in,
    violations,
)
from stride.gateway.catalog import IDENTITY
from stride.identity.config import IdentitySettings
from stride.identity.events.v1.events_pb2 import RoleGranted, RoleRevoked
from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc
from stride.platform.grpc.contract import Audience
from stride.platform.grpc.server import RunningServer
from stride.platform.testing.clocks import MovableClock
from stride.platform.testing.probes import eventually

STUDIO = "studios/riyadh-olaya"
# Tokens signed once the test moved Identity's clock past this carry times ahead of the real
# clock: it stays well within the 30 s leeway the edge and the services allow.
PUBLISH_AHEAD_SECONDS = 2.0


@pytest.fixture(scope="module")
def identity_config(database_url: str, nats_url: str, event_prefix: str) -> IdentitySettings:
    # New signing keys are published a while before they sign.
    return identity_settings(
        database_url,
        nats_url,
        event_prefix,
        signing_key_publish_ahead_seconds=PUBLISH_AHEAD_SECONDS,
    )


@pytest_asyncio.fixture(scope="module")
async def admin(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> Account:
    return await new_admin(edge, nats_url, event_prefix, identity_config)


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


async def test_admins_grant_studio_roles_that_tokens_then_carry(
    edge: Edge, admin: Account, nats_url: str, event_prefix: str
) -> None:
    coach = await new_account(edge, nats_url, event_prefix)
    grant = {"grant": {"role": "instructor", "studio": STUDIO}}
    granted = await call("POST", f"{edge.base_url}/v1/{coach.name}:grantRole", grant, **admin.auth)
    assert granted.status == 200, granted.body
    assert granted.body["roles"] == [{"role": "instructor", "studio": STUDIO}]
    _, event, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.role.granted.v1",
        RoleGranted,
        lambda e: e.user == coach.name,
    )
    assert (event.role, event.studio, event.granted_by) == ("instructor", STUDIO, admin.name)

    scoped = claims((await sign_in(edge, coach.email)).body["credentials"]["accessToken"])
    assert scoped["roles"] == ["instructor", "member"]
    assert scoped["studio"] == STUDIO
    elsewhere = await call(
        "POST",
        f"{edge.base_url}/v1/sessions:signIn",
        {"email": coach.email, "password": "a long enough password", "studio": "studios/jeddah"},
    )
    assert claims(elsewhere.body["credentials"]["accessToken"])["roles"] == ["member"]

    revoked = await call("POST", f"{edge.base_url}/v1/{coach.name}:revokeRole", grant, **admin.auth)
    assert revoked.body["roles"] == []
    await next_event(
        nats_url,
        event_prefix,
        "identity.role.revoked.v1",
        RoleRevoked,
        lambda e: e.user == coach.name,
    )


async def test_bad_role_grants_are_400s(
    edge: Edge, admin: Account, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    url = f"{edge.base_url}/v1/{member.name}:grantRole"
    unknown = await call("POST", url, {"grant": {"role": "wizard", "studio": STUDIO}}, **admin.auth)
    assert violations(unknown) == {"grant.role": "field.invalid_choice"}
    scoped_admin = await call(
        "POST", url, {"grant": {"role": "admin", "studio": STUDIO}}, **admin.auth
    )
    assert violations(scoped_admin) == {"grant.studio": "role.admin_is_platform_wide"}
    bad_studio = await call(
        "POST", url, {"grant": {"role": "manager", "studio": "Riyadh!"}}, **admin.auth
    )
    assert violations(bad_studio) == {"grant.studio": "studio.invalid_name"}


RequestFor = Callable[[Account, Account], Message]

# Every authenticated RPC, called by a member against another member (or an admin-only RPC):
# each must answer PERMISSION_DENIED.
FORBIDDEN: dict[str, RequestFor] = {
    "GetUser": lambda me, other: pb.GetUserRequest(name=other.name),
    "UpdateUser": lambda me, other: pb.UpdateUserRequest(
        user=pb.User(name=other.name, display_name="x"),
        update_mask=FieldMask(paths=["display_name"]),
    ),
    "ListSessions": lambda me, other: pb.ListSessionsRequest(parent=other.name),
    "RevokeSession": lambda me, other: pb.RevokeSessionRequest(name=other.session),
    "EnrollTotp": lambda me, other: pb.EnrollTotpRequest(user=other.name),
    "ConfirmTotp": lambda me, other: pb.ConfirmTotpRequest(user=other.name, code="123456"),
    "DisableTotp": lambda me, other: pb.DisableTotpRequest(user=other.name, code="123456"),
    "RequestEmailChange": lambda me, other: pb.RequestEmailChangeRequest(
        user=other.name, new_email="x@example.com", password="a long enough password"
    ),
    "GrantRole": lambda me, other: pb.GrantRoleRequest(
        user=me.name, grant=pb.RoleGrant(role="admin")
    ),
    "RevokeRole": lambda me, other: pb.RevokeRoleRequest(
        user=other.name, grant=pb.RoleGrant(role="member")
    ),
    "RotateSigningKey": lambda me, other: pb.RotateSigningKeyRequest(),
}


@pytest.mark.parametrize("rpc", sorted(FORBIDDEN))
async def test_members_are_denied_what_is_not_theirs(
    rpc: str, identity: RunningServer, edge: Edge, nats_url: str, event_prefix: str
) -> None:
    me = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity.port}") as channel:
        method = getattr(pb_grpc.IdentityServiceStub(channel), rpc)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await method(
                FORBIDDEN[rpc](me, other),
                metadata=[("authorization", f"Bearer {me.access_token}")],
                timeout=10,
            )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_every_authenticated_rpc_has_a_denial_case() -> None:
    """What the contract opens to everyone (public, or any signed-in caller: SignOut ends the
    caller's own session) needs none; everything else is denied above."""
    service = pb.DESCRIPTOR.services_by_name["IdentityService"]
    open_to_all = {
        contract.descriptor.name
        for contract in IDENTITY.methods_for(Audience.PUBLIC, Audience.SIGNED_IN)
    }
    assert set(service.methods_by_name) - open_to_all == set(FORBIDDEN)


async def test_key_rotation_publishes_ahead_and_keeps_old_tokens_valid(
    edge: Edge, admin: Account, nats_url: str, event_prefix: str, identity_clock: MovableClock
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    jwks_url = f"{edge.base_url}/.well-known/jwks.json"
    before = (await call("GET", jwks_url)).body["keys"]
    rotated = await call("POST", f"{edge.base_url}/v1/signingKeys:rotate", {}, **admin.auth)
    assert rotated.status == 200, rotated.body
    new_kid = rotated.body["kid"]
    during = (await call("GET", jwks_url)).body["keys"]
    assert {key["kid"] for key in during} == {key["kid"] for key in before} | {new_kid}
    assert len(during) >= 2
    # Until it activates, the new key is published but signs nothing.
    early = (await sign_in(edge, member.email)).body["credentials"]["accessToken"]
    assert kid(early) != new_kid
    identity_clock.advance(timedelta(seconds=PUBLISH_AHEAD_SECONDS))
    late = (await sign_in(edge, member.email)).body["credentials"]["accessToken"]
    assert kid(late) == new_kid

    async def reading_own_profile(token: str) -> int:
        reply = await call(
            "GET", f"{edge.base_url}/v1/{member.name}", authorization=f"Bearer {token}"
        )
        return reply.status

    async def late_token_accepted() -> bool:
        """Once the edge and Identity's verifier refreshed the JWKS they cache (each within a
        second here), they know the new key."""
        return await reading_own_profile(late) == 200

    # The old key stays published, so its tokens pass whatever the caches hold.
    for token in (member.access_token, early):
        assert await reading_own_profile(token) == 200
    await eventually(late_token_accepted)
