"""Every RPC of every service, walked through a real Envoy in front of the real services: each is
public, member-scoped with an ownership or role check, or internal and unroutable at the edge —
as its contract (`stride.api.v1.access`) says, and nothing more.

Requests are built from the contracts themselves (the `google.api.http` path with resource
names filled in, an empty body), so an RPC added tomorrow is walked without touching this file.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf import message_factory
from google.protobuf.message import Message

from e2e.support import (
    BILLING_SERVICE_KEY,
    SCHEDULING_SERVICE_KEY,
    Account,
    Edge,
    Reply,
    call,
    new_account,
    new_admin,
    reason,
    signed_in,
)
from stride.gateway.catalog import SERVICES
from stride.identity.config import IdentitySettings
from stride.platform.grpc.contract import Audience, MethodContract
from stride.platform.grpc.server import RunningServer
from stride.platform.service_credentials import ServiceCredentials, ServiceKey

STUDIO, OTHER_STUDIO = "studios/exposure", "studios/elsewhere"
# The keys the platform fixture's services hold, by service.
SERVICE_KEYS = {"scheduling": SCHEDULING_SERVICE_KEY, "billing": BILLING_SERVICE_KEY}
CONTRACTS = [contract for service in SERVICES for contract in service.contracts.values()]
SERVICE_OF = {
    contract.path: service.name for service in SERVICES for contract in service.contracts.values()
}


@pytest.fixture(scope="module")
def edge(platform_edge: Edge) -> Edge:
    return platform_edge


@dataclass(frozen=True)
class Callers:
    owner: Account  # Whose resources the requests name.
    stranger: Account  # Another member.
    manager: Account  # A manager of STUDIO.
    admin: Account


@pytest_asyncio.fixture(scope="module")
async def callers(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> Callers:
    admin = await new_admin(edge, nats_url, event_prefix, identity_config)
    owner = await new_account(edge, nats_url, event_prefix)
    stranger = await new_account(edge, nats_url, event_prefix)
    manager = await new_account(edge, nats_url, event_prefix)
    role = {"grant": {"role": "manager", "studio": STUDIO}}
    granted = await call("POST", f"{edge.base_url}/v1/{manager.name}:grantRole", role, **admin.auth)
    assert granted.status == 200, granted.body
    return Callers(owner, stranger, await signed_in(edge, manager), admin)


def _resource_name(pattern: str, owner: str, studio: str) -> str:
    """`users/*/bookings/*` → `users/{owner}/bookings/{some id}`; `studios/*` → the studio."""
    parts = pattern.split("/")
    filled = []
    for position, part in enumerate(parts):
        if part != "*":
            filled.append(part)
        elif position > 0 and parts[position - 1] == "users":
            filled.append(owner)
        elif position > 0 and parts[position - 1] == "studios":
            filled.append(studio.removeprefix("studios/"))
        else:
            filled.append(str(uuid.uuid4()))
    return "/".join(filled)


def rest_form(contract: MethodContract, owner: str, studio: str = STUDIO) -> tuple[str, str, bool]:
    """(verb, path, has a body) of the RPC's REST mapping, naming `owner`'s resources."""
    rule = contract.http_rule
    assert rule is not None
    verb = rule.WhichOneof("pattern")
    assert verb is not None
    template = getattr(rule, verb)

    def fill(match: re.Match[str]) -> str:
        return _resource_name(match.group(2) or "*", owner, studio)

    path = re.sub(r"\{([^}=]+)(?:=([^}]*))?\}", fill, template)
    return verb.upper(), path, bool(rule.body)


async def rest(
    edge: Edge, contract: MethodContract, owner: str, auth: dict[str, str], **kw: str
) -> Reply:
    verb, path, has_body = rest_form(contract, owner, **kw)
    if contract.descriptor.server_streaming:
        # A stream's body stays open while it is admitted (and Envoy may hold a refused one's
        # open too): its status line is the answer.
        status = await asyncio.to_thread(_stream_status, edge, path, auth)
        return Reply(status, {}, {})
    return await call(verb, f"{edge.base_url}{path}", {} if has_body else None, **auth)


def _stream_status(edge: Edge, path: str, auth: dict[str, str]) -> int:
    host, port = edge.grpc_target.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path, headers=auth)
        return connection.getresponse().status
    finally:
        connection.close()


def grpc_request(contract: MethodContract, owner: str, studio: str = STUDIO) -> Message:
    """The RPC's request naming `owner` and `studio` where its access rule looks."""
    request = message_factory.GetMessageClass(contract.descriptor.input_type)()
    for path, value in (
        (contract.access.owner_field, f"users/{owner}"),
        (contract.access.studio_field, studio),
    ):
        if path:
            *parents, leaf = path.split(".")
            target: Any = request
            for parent in parents:
                target = getattr(target, parent)
            setattr(target, leaf, value)
    return request


async def grpc_code(
    target: str, contract: MethodContract, request: Message, metadata: Any
) -> grpc.StatusCode:
    """Calls the RPC natively at `target` (a service, or the edge) and returns the status."""
    async with grpc.aio.insecure_channel(target) as channel:
        output = message_factory.GetMessageClass(contract.descriptor.output_type)
        factory = (
            channel.unary_stream if contract.descriptor.server_streaming else channel.unary_unary
        )
        rpc = factory(
            contract.path,
            request_serializer=type(request).SerializeToString,
            response_deserializer=output.FromString,
        )
        try:
            response: Any = rpc(request, metadata=metadata, timeout=10)
            if contract.descriptor.server_streaming:
                # A refused stream ends at once with its status; an admitted one stays open
                # (callers of this helper expect refusals: 2 s is a bound, not a wait).
                try:
                    return await asyncio.wait_for(response.code(), 2)
                except TimeoutError:
                    response.cancel()
            else:
                await response
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


def user_id(account: Account) -> str:
    return account.name.removeprefix("users/")


def by_audience(*audiences: Audience) -> list[MethodContract]:
    return [contract for contract in CONTRACTS if contract.access.audience in audiences]


def ids(contract: MethodContract) -> str:
    return contract.path.rsplit(".", 1)[-1]


REFUSED = (401, 403)
NO_TOKEN_REASONS = ("UNAUTHENTICATED", "TOKEN_MISSING")  # The edge's and the services' own.


@pytest.mark.parametrize("contract", by_audience(Audience.PUBLIC), ids=ids)
async def test_public_rpcs_need_no_token(
    edge: Edge, callers: Callers, contract: MethodContract
) -> None:
    """They may still refuse what they are sent (a webhook's signature, a link's token), but
    never for want of an access token."""
    reply = await rest(edge, contract, user_id(callers.owner), {})
    assert not (reply.status == 401 and reason(reply) in NO_TOKEN_REASONS), reply.body
    assert reply.status != 403, reply.body


@pytest.mark.parametrize(
    "contract", by_audience(Audience.SIGNED_IN, Audience.OWNER, Audience.STAFF), ids=ids
)
async def test_everything_else_needs_a_token_at_the_edge_and_at_the_service(
    edge: Edge, callers: Callers, platform: dict[str, RunningServer], contract: MethodContract
) -> None:
    owner = user_id(callers.owner)
    assert (await rest(edge, contract, owner, {})).status == 401
    direct = f"127.0.0.1:{platform[SERVICE_OF[contract.path]].port}"
    assert await grpc_code(direct, contract, grpc_request(contract, owner), ()) == (
        grpc.StatusCode.UNAUTHENTICATED
    )


@pytest.mark.parametrize("contract", by_audience(Audience.SIGNED_IN), ids=ids)
async def test_any_signed_in_member_may_call_the_studio_s_shared_rpcs(
    edge: Edge, callers: Callers, contract: MethodContract
) -> None:
    reply = await rest(edge, contract, user_id(callers.owner), callers.stranger.auth)
    assert reply.status not in REFUSED, reply.body


@pytest.mark.parametrize("contract", by_audience(Audience.OWNER), ids=ids)
async def test_member_rpcs_are_the_owner_s_and_their_listed_roles_only(
    edge: Edge, callers: Callers, platform: dict[str, RunningServer], contract: MethodContract
) -> None:
    owner = user_id(callers.owner)
    stranger = await rest(edge, contract, owner, callers.stranger.auth)
    manager = await rest(edge, contract, owner, callers.manager.auth)
    assert (stranger.status, manager.status) == (403, 403), (stranger.body, manager.body)
    direct = f"127.0.0.1:{platform[SERVICE_OF[contract.path]].port}"
    request = grpc_request(contract, owner)
    assert await grpc_code(direct, contract, request, callers.stranger.auth.items()) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    if not contract.descriptor.server_streaming:  # A stream the owner opens stays open.
        mine = await rest(edge, contract, owner, callers.owner.auth)
        assert mine.status not in REFUSED, mine.body
    admin = (
        await rest(edge, contract, owner, callers.admin.auth)
        if "admin" in contract.access.roles
        else None
    )
    if admin is not None and not contract.descriptor.server_streaming:
        assert admin.status not in REFUSED, admin.body


@pytest.mark.parametrize("contract", by_audience(Audience.STAFF), ids=ids)
async def test_staff_rpcs_need_the_role_in_the_studio_they_name(
    edge: Edge, callers: Callers, platform: dict[str, RunningServer], contract: MethodContract
) -> None:
    owner = user_id(callers.owner)
    member = await rest(edge, contract, owner, callers.owner.auth)
    assert member.status == 403, member.body
    direct = f"127.0.0.1:{platform[SERVICE_OF[contract.path]].port}"
    request = grpc_request(contract, owner)
    assert await grpc_code(direct, contract, request, callers.owner.auth.items()) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    if contract.access.studio_field:
        elsewhere = await rest(edge, contract, owner, callers.manager.auth, studio=OTHER_STUDIO)
        assert elsewhere.status == 403, elsewhere.body
    admin = await rest(edge, contract, owner, callers.admin.auth)
    assert admin.status not in REFUSED, admin.body


@pytest.mark.parametrize("contract", by_audience(Audience.INTERNAL), ids=ids)
async def test_internal_rpcs_are_unroutable_at_the_edge_and_refuse_member_tokens(
    edge: Edge, callers: Callers, platform: dict[str, RunningServer], contract: MethodContract
) -> None:
    owner = user_id(callers.owner)
    request = grpc_request(contract, owner)
    # Through the edge: not found, with a member's token or an admin's; a service credential
    # is no access token, so the edge refuses it before it could even look.
    caller = sorted(contract.access.callers)[0]
    credential = ServiceCredentials(caller, ServiceKey.from_spec(SERVICE_KEYS[caller]))
    service = SERVICE_OF[contract.path]
    for account in (callers.owner, callers.admin):
        assert await grpc_code(edge.grpc_target, contract, request, account.auth.items()) == (
            grpc.StatusCode.UNIMPLEMENTED
        )
    assert await grpc_code(edge.grpc_target, contract, request, credential.metadata(service)) == (
        grpc.StatusCode.UNAUTHENTICATED
    )
    # At the service itself: member and admin tokens are not service credentials.
    direct = f"127.0.0.1:{platform[service].port}"
    for account in (callers.owner, callers.admin):
        assert await grpc_code(direct, contract, request, account.auth.items()) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
    # A service the contract names gets past the door (what it asks may still be refused);
    # another service, trusted for what it may call, does not.
    code = await grpc_code(direct, contract, request, credential.metadata(service))
    assert code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    for other in sorted(set(SERVICE_KEYS) - contract.access.callers - {service}):
        impostor = ServiceCredentials(other, ServiceKey.from_spec(SERVICE_KEYS[other]))
        assert await grpc_code(direct, contract, request, impostor.metadata(service)) in (
            grpc.StatusCode.UNAUTHENTICATED,  # A key this service does not trust at all.
            grpc.StatusCode.PERMISSION_DENIED,  # Trusted, but not for this RPC.
        )
