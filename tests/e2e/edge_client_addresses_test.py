"""The edge tells clients apart by address, through a real Envoy in front of Identity: one client
flooding the auth routes, or failing sign-in after sign-in, is limited alone. The clients are
two loopback addresses: 127.0.0.2 misbehaves, 127.0.0.1 is a member going about their day."""

from __future__ import annotations

import asyncio
import uuid

from e2e.support import (
    Account,
    Edge,
    EdgeFactory,
    Reply,
    call,
    new_account,
    reason,
    sign_in,
)

ABUSER = "127.0.0.2"
MEMBER = "127.0.0.1"
# Far more attempts than any address may fail before Identity throttles it.
MAX_FAILURES_BEFORE_THROTTLE = 100


def unknown_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:10]}@example.com"


async def refresh(edge: Edge, refresh_token: str, from_address: str) -> Reply:
    url = f"{edge.base_url}/v1/sessions:refresh"
    return await call("POST", url, {"refreshToken": refresh_token}, from_address=from_address)


def limited_by_the_edge(replies: list[Reply]) -> list[Reply]:
    limited = [reply for reply in replies if reply.status == 429]
    assert {reason(reply) for reply in limited} <= {"RATE_LIMITED"}
    return limited


async def test_a_client_flooding_sign_in_is_limited_alone(
    edge: Edge, edges: EdgeFactory, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    tight = edges(auth_burst_per_client=3, auth_per_second_per_client=1)
    flood = await asyncio.gather(
        *(
            sign_in(tight, unknown_email(), "wrong password!", from_address=ABUSER)
            for _ in range(12)
        )
    )
    assert limited_by_the_edge(flood)
    # The member's bucket is whole: every sign-in of its burst reaches Identity and succeeds.
    member = await asyncio.gather(
        *(sign_in(tight, account.email, from_address=MEMBER) for _ in range(3))
    )
    assert [reply.status for reply in member] == [200, 200, 200], [r.body for r in member]


async def test_refresh_has_buckets_of_its_own_per_client(
    edge: Edge, edges: EdgeFactory, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    tight = edges(
        auth_burst_per_client=3,
        auth_per_second_per_client=1,
        refresh_burst_per_client=5,
        refresh_per_second_per_client=1,
    )
    bogus = await asyncio.gather(*(refresh(tight, "bogus", ABUSER) for _ in range(15)))
    assert limited_by_the_edge(bogus)
    refreshed = await refresh(tight, account.refresh_token, MEMBER)
    assert refreshed.status == 200, refreshed.body
    # Refreshing, however much, spends nothing of the sign-in buckets.
    assert (await sign_in(tight, account.email, from_address=ABUSER)).status == 200


async def fail_until_throttled(edge: Edge, from_address: str, **headers: str) -> Reply:
    """Wrong passwords for ever new emails (no account's own throttle is reached) until
    Identity throttles the address."""
    for _ in range(MAX_FAILURES_BEFORE_THROTTLE):
        reply = await sign_in(
            edge, unknown_email(), "wrong password!", from_address=from_address, **headers
        )
        if reply.status == 429:
            assert reason(reply) == "SIGN_IN_THROTTLED"
            return reply
        assert reply.status == 401, reply.body
    raise AssertionError(f"{from_address} was never throttled")


async def test_failures_from_one_address_throttle_that_address_only(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account: Account = await new_account(edge, nats_url, event_prefix)
    await fail_until_throttled(edge, ABUSER)
    # Naming another client in x-forwarded-for (or in the header the edge writes) moves the
    # abuser nowhere: Envoy keys on the connection's address.
    spoofed = await sign_in(
        edge,
        account.email,
        from_address=ABUSER,
        x_forwarded_for=MEMBER,
        x_stride_client_address=MEMBER,
    )
    assert spoofed.status == 429
    assert reason(spoofed) == "SIGN_IN_THROTTLED"
    assert (await sign_in(edge, account.email, from_address=MEMBER)).status == 200


async def test_behind_a_trusted_load_balancer_the_address_it_forwards_is_the_client(
    edge: Edge, edges: EdgeFactory, nats_url: str, event_prefix: str
) -> None:
    """127.0.0.2 is an L7 load balancer now, appending each client's address to
    x-forwarded-for: the client it names is throttled, not every client behind it, and not an
    address the abuser prepends. (Each request passes whenever the edge keys right: none
    relies on a lock of a few seconds still holding on a slow machine.)"""
    account = await new_account(edge, nats_url, event_prefix)
    behind_balancer = edges(trusted_proxy_hops=1)
    # The abuser names the member's address first; the balancer appends the abuser's own.
    await fail_until_throttled(
        behind_balancer, ABUSER, x_forwarded_for="198.51.100.20, 203.0.113.10"
    )
    member = await sign_in(
        behind_balancer, account.email, from_address=ABUSER, x_forwarded_for="198.51.100.20"
    )
    assert member.status == 200, member.body
