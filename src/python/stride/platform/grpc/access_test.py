"""Every audience a contract can declare, enforced by the real server before the handler runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

import grpc
from stride.platform.grpc.server import RunningServer
from stride.platform.grpc.status import rich_status, unpack_details
from stride.platform.probe.v1 import probe_service_pb2 as pb
from stride.platform.service_credentials import ServiceCredentials, ServiceKey
from stride.platform.testing.probe_service import (
    CALLER_KEY,
    OTHER_SERVICE_KEY,
    AnsweringProbe,
    access_token,
    bearer,
    probe_client,
    start_probe,
)


@pytest_asyncio.fixture(scope="module")
async def client() -> AsyncIterator[Any]:
    running: RunningServer = await start_probe(AnsweringProbe())
    channel, stub = probe_client(running)
    async with channel:
        yield stub
    await running.stop()


async def code_of(call: Any) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def violated_fields(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rich_status(error)
    assert status is not None
    found = unpack_details(status)["BadRequest"].field_violations  # type: ignore[attr-defined]
    return {violation.field: violation.reason for violation in found}


async def test_owners_reach_their_own_resources_and_only_the_listed_roles_reach_others(
    client: Any,
) -> None:
    mine = pb.GetOwnedRequest(name="users/u1/probes/p1")
    theirs = pb.GetOwnedRequest(name="users/u2/probes/p1")
    member, admin = bearer(access_token("u1")), bearer(access_token("a1", ("admin",)))
    manager = bearer(access_token("m1", ("manager",), studio="studios/s1"))
    assert await code_of(client.GetOwned(mine, metadata=member)) == grpc.StatusCode.OK
    assert (
        await code_of(client.GetOwned(theirs, metadata=member)) == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        await code_of(client.GetOwned(theirs, metadata=manager))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert await code_of(client.GetOwned(theirs, metadata=admin)) == grpc.StatusCode.OK
    assert await code_of(client.GetOwned(mine)) == grpc.StatusCode.UNAUTHENTICATED


async def test_streams_are_held_to_the_same_rules(client: Any) -> None:
    member, admin = bearer(access_token("u1")), bearer(access_token("a1", ("admin",)))
    mine = [
        r.user
        async for r in client.WatchOwned(pb.WatchOwnedRequest(name="users/u1/p/1"), metadata=member)
    ]
    assert mine == ["users/u1"]
    theirs = pb.WatchOwnedRequest(name="users/u2/p/1")
    assert [r.user async for r in client.WatchOwned(theirs, metadata=admin)] == ["users/a1"]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        [r async for r in client.WatchOwned(theirs, metadata=member)]
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "name", ["users/u1", "users/u1x/probes/p", "users/", "studios/u1/probes/p", "", "users//u1"]
)
async def test_a_name_that_is_not_under_the_caller_is_refused(client: Any, name: str) -> None:
    """Prefixes and look-alikes are not ownership: only `users/{caller}` and what is under it."""
    request = pb.GetOwnedRequest(name=name)
    code = await code_of(client.GetOwned(request, metadata=bearer(access_token("u1"))))
    expected = grpc.StatusCode.OK if name == "users/u1" else grpc.StatusCode.PERMISSION_DENIED
    assert code == expected


async def test_authorization_comes_before_validation(client: Any) -> None:
    """AIP-211: probing someone else's resource with a bad field says 403, not which field."""
    member = bearer(access_token("u1"))
    theirs = pb.GetOwnedRequest(name="users/u2/probes/p1", note="x" * 11)
    assert (
        await code_of(client.GetOwned(theirs, metadata=member)) == grpc.StatusCode.PERMISSION_DENIED
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.GetOwned(
            pb.GetOwnedRequest(name="users/u1/p/1", note="x" * 11), metadata=member
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(raised.value) == {"note": "field.too_long"}


async def test_staff_act_in_their_own_studio_and_admins_everywhere(client: Any) -> None:
    here, there = (
        pb.ManageStudioRequest(studio="studios/s1"),
        pb.ManageStudioRequest(studio="studios/s2"),
    )
    manager = bearer(access_token("m1", ("manager",), studio="studios/s1"))
    desk = bearer(access_token("d1", ("front_desk",), studio="studios/s1"))
    admin = bearer(access_token("a1", ("admin",)))
    assert await code_of(client.ManageStudio(here, metadata=manager)) == grpc.StatusCode.OK
    assert (
        await code_of(client.ManageStudio(there, metadata=manager))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        await code_of(client.ManageStudio(here, metadata=desk)) == grpc.StatusCode.PERMISSION_DENIED
    )
    assert await code_of(client.ManageStudio(there, metadata=admin)) == grpc.StatusCode.OK
    under = pb.ManageStudioRequest(studio="studios/s1/rooms/r1")
    assert await code_of(client.ManageStudio(under, metadata=manager)) == grpc.StatusCode.OK
    unnamed = pb.ManageStudioRequest(studio="s1")
    assert (
        await code_of(client.ManageStudio(unnamed, metadata=manager))
        == grpc.StatusCode.PERMISSION_DENIED
    )


def service_token(key_spec: str, service: str, audience: str = "probe") -> list[tuple[str, str]]:
    return list(ServiceCredentials(service, ServiceKey.from_spec(key_spec)).metadata(audience))


async def test_internal_rpcs_admit_only_the_listed_services_by_their_own_keys(client: Any) -> None:
    request = pb.CallInternallyRequest()
    reply = await client.CallInternally(request, metadata=service_token(CALLER_KEY, "caller"))
    assert reply.caller == "caller"
    refused = {
        "no credential": [],
        "a member's access token": bearer(access_token("u1", ("admin",))),
        "an admin's access token": bearer(access_token("a1", ("admin",))),
        "a trusted service that is not listed": service_token(OTHER_SERVICE_KEY, "other"),
        "a key claiming another service's name": service_token(OTHER_SERVICE_KEY, "caller"),
        "a token for another service": service_token(CALLER_KEY, "caller", audience="billing"),
    }
    codes = {
        why: await code_of(client.CallInternally(request, metadata=m)) for why, m in refused.items()
    }
    assert codes == {
        "no credential": grpc.StatusCode.UNAUTHENTICATED,
        "a member's access token": grpc.StatusCode.UNAUTHENTICATED,
        "an admin's access token": grpc.StatusCode.UNAUTHENTICATED,
        "a trusted service that is not listed": grpc.StatusCode.PERMISSION_DENIED,
        "a key claiming another service's name": grpc.StatusCode.UNAUTHENTICATED,
        "a token for another service": grpc.StatusCode.UNAUTHENTICATED,
    }


async def test_service_credentials_open_no_member_rpc(client: Any) -> None:
    """A service token is no access token: it cannot act as a member anywhere."""
    credential = service_token(CALLER_KEY, "caller")
    assert (
        await code_of(client.WhoAmI(pb.WhoAmIRequest(), metadata=credential))
        == grpc.StatusCode.UNAUTHENTICATED
    )


async def test_without_trusted_keys_no_internal_call_gets_through() -> None:
    running = await start_probe(AnsweringProbe(), trusted_service_keys="")
    channel, stub = probe_client(running)
    async with channel:
        code = await code_of(
            stub.CallInternally(
                pb.CallInternallyRequest(), metadata=service_token(CALLER_KEY, "caller")
            )
        )
    await running.stop()
    assert code == grpc.StatusCode.UNAUTHENTICATED
