"""Stripe's webhooks as Stripe delivers them at worst, through the edge: the event that a
payment succeeded replayed 100 times at once, interleaved with the other events of the same
PaymentIntent (`processing` and `requires_action`, before and after it) in no particular
order, for a class pack and a membership paid with 3-D Secure. Each purchase takes effect once
— one entitlement (one subscription), one invoice, one `payment.succeeded` — and ends
succeeded."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from billing.stripe_support import CARD_3DS, complete_3ds, event_for, tokenized_card
from chaos.support import (
    AccessTokens,
    announced,
    members,
    plan_for_sale,
    rows,
    scalar,
)
from e2e.billing_payments_test import replay
from e2e.support import Edge, EdgeFactory
from stride.billing.service_layer.payments import PAYMENT_SUCCEEDED
from stride.billing.v1 import billing_service_pb2 as billing_pb
from stride.billing.v1 import billing_service_pb2_grpc as billing_grpc
from stride.platform.grpc.server import RunningServer

REPLAYS = 100  # Deliveries of each `payment_intent.succeeded`.
OTHERS = 10  # Deliveries of each other event of the same intent in the storm.


@pytest.fixture(scope="module")
def edge(billing: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """Envoy in front of Billing, as `./pants up` and the cluster run it: Stripe's webhooks
    come in through it (a public route; the signature is checked by Billing)."""
    factory = EdgeFactory({"billing": billing.port}, tmp_path_factory.mktemp("edge"), [])
    yield factory()
    for envoy in factory.started:
        envoy.stop()


def sibling(event: dict[str, Any], event_type: str, status: str) -> dict[str, Any]:
    """Another event Stripe sends about the same PaymentIntent, with an id of its own and the
    intent as it stood then. localstripe sends only `succeeded` and `payment_failed`, so the
    others are made from its event, as Stripe shapes them."""
    intent = {**event["data"]["object"], "status": status}
    return {
        **event,
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "type": event_type,
        "data": {**event["data"], "object": intent},
    }


async def paid_with_3d_secure(
    billing: Any, tokens: AccessTokens, stripe_api_base: str, member: str, plan: str
) -> tuple[str, dict[str, Any]]:
    """The member buys `plan` with a card that asks for 3-D Secure and passes it on Stripe's
    page: the purchase's name, and Stripe's `payment_intent.succeeded` event (not delivered)."""
    started = await billing.PurchasePlan(
        billing_pb.PurchasePlanRequest(
            parent=f"users/{member}",
            plan=plan,
            payment_method=tokenized_card(stripe_api_base, CARD_3DS),
            request_id="storm-1",
        ),
        metadata=tokens.metadata(member),
    )
    assert started.state == billing_pb.Purchase.STATE_REQUIRES_ACTION
    intent = started.client_secret.split("_secret_")[0]
    complete_3ds(stripe_api_base, intent, started.client_secret, success=True)
    return started.name, event_for(stripe_api_base, "payment_intent.succeeded", intent)


async def test_webhooks_replayed_at_once_and_out_of_order_take_effect_once(
    billing: RunningServer, edge: Edge, access_tokens: AccessTokens, stripe_api_base: str
) -> None:
    pack_buyer, member_buyer = members(2)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{billing.port}") as channel:
        client = billing_grpc.BillingServiceStub(channel)
        pack = await plan_for_sale(client, access_tokens, billing_pb.Plan.KIND_CLASS_PACK)
        monthly = await plan_for_sale(
            client, access_tokens, billing_pb.Plan.KIND_MONTHLY_MEMBERSHIP
        )
        bought = dict(
            [
                await paid_with_3d_secure(client, access_tokens, stripe_api_base, pack_buyer, pack),
                await paid_with_3d_secure(
                    client, access_tokens, stripe_api_base, member_buyer, monthly
                ),
            ]
        )
        before = [sibling(e, "payment_intent.processing", "processing") for e in bought.values()]
        during = [
            sibling(e, "payment_intent.requires_action", "requires_action") for e in bought.values()
        ]
        after = [
            sibling(e, "payment_intent.requires_action", "requires_action") for e in bought.values()
        ]
        storm = [
            *(event for event in bought.values() for _ in range(REPLAYS)),
            *(event for event in [*before, *during] for _ in range(OTHERS)),
        ]
        # Seeded: a failure replays in the same order.
        random.Random(11).shuffle(storm)  # noqa: S311 - an order, not a secret.

        first = [await replay(edge, event) for event in before]
        delivered = await asyncio.gather(*(replay(edge, event) for event in storm))
        last = [await replay(edge, event) for event in after]

        purchases = [
            await client.GetPurchase(
                billing_pb.GetPurchaseRequest(name=name),
                metadata=access_tokens.metadata(name.split("/")[1]),
            )
            for name in bought
        ]

    assert set(first + delivered + last) == {200}
    assert [p.state for p in purchases] == [billing_pb.Purchase.STATE_SUCCEEDED] * 2
    granted = await rows(billing, "SELECT member_id::text AS member FROM entitlements")
    assert sorted(row.member for row in granted) == sorted([pack_buyer, member_buyer])
    invoiced = await rows(billing, "SELECT source FROM invoices")
    assert sorted(row.source for row in invoiced) == sorted(bought)
    subscribed = "SELECT count(*) FROM subscriptions WHERE member_id = CAST(:member AS uuid)"
    assert await scalar(billing, subscribed, member=member_buyer) == 1
    announcements = await announced(billing, PAYMENT_SUCCEEDED)
    assert [announcements[name] for name in bought] == [1, 1]
    # Every event was recorded once, whichever delivery of it came first.
    seen = await rows(billing, "SELECT id FROM stripe_events")
    assert sorted(row.id for row in seen) == sorted(
        event["id"] for event in [*bought.values(), *before, *during, *after]
    )
