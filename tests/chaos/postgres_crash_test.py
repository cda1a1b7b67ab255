"""Postgres killed (SIGKILL, as a crash) while members buy plans and while the renewer charges
memberships, then restarted.

Requests caught inside a transaction, at Stripe, or sent during the outage all end UNAVAILABLE
within their deadline; after the restart nothing is half-written — every entitlement, invoice
and Stripe charge belongs to a settled purchase or renewal, or to a reservation ADR 0012
settles — and each purchase is completed by its retry (after Stripe's webhook, where Stripe had
charged) and each due membership renewed by the renewer, exactly once: one charge, one
entitlement, one invoice and one `payment.succeeded` each. Requests are stopped mid-flight by
the invoice counter's lock, which the test holds (settling waits there, after Stripe charged),
and by a proxy that holds their requests to Stripe (no transaction is open meanwhile)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import grpc
import pytest
import pytest_asyncio

from billing.stalls import StripeProxy, stripe_proxy
from billing.stripe_support import (
    API_KEY,
    CARD_OK,
    event_for,
    intents_of,
    payment_intents,
    tokenized_card,
)
from chaos.support import (
    DEADLINE,
    INVOICE_NUMBER_LOCK,
    AccessTokens,
    Answer,
    announced,
    answer,
    deliver,
    holding,
    lock_waiters,
    members,
    plan_for_sale,
    rows,
    scalar,
)
from e2e.support import running_billing
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.payments import ATTEMPT_LEASE
from stride.billing.domain.purchases import purchase_id
from stride.billing.service_layer import subscriptions
from stride.billing.service_layer.payments import PAYMENT_SUCCEEDED
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.billing.v1 import billing_service_pb2 as billing_pb
from stride.billing.v1 import billing_service_pb2_grpc as billing_grpc
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.errors import database_unavailable
from stride.platform.grpc.server import RunningServer
from stride.platform.local.postgres import EmbeddedPostgres
from stride.platform.testing.fixtures import scratch_dir
from stride.platform.testing.probes import eventually_equal

WITHIN = 30.0  # For a stalled request to reach the proxy.
EACH = 3  # Purchases caught at each step when Postgres dies.
REQUEST = "chaos-1"  # Each member's one purchase request, sent again after the restart.
UNAVAILABLE = (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE")

# What was paid for: every purchase that succeeded, and every period a subscription renewed into.
PAID = """
    SELECT 'users/' || member_id || '/purchases/' || id AS source
    FROM purchases WHERE state = 'succeeded'
    UNION ALL
    SELECT 'users/' || s.member_id || '/subscriptions/' || s.id || '/periods/' || period
    FROM subscriptions AS s, generate_series(1, s.period_index) AS period
"""
# Each query finds what breaks one rule a crash must not break.
HALF_WRITTEN = {
    "a paid purchase without its entitlement": (
        "SELECT id::text FROM purchases WHERE state = 'succeeded' AND entitlement_id IS NULL"
    ),
    "an entitlement no paid purchase granted": (
        "SELECT id::text FROM entitlements WHERE id NOT IN (SELECT entitlement_id FROM purchases"
        " WHERE state = 'succeeded' AND entitlement_id IS NOT NULL)"
    ),
    "a paid membership without its subscription": (
        "SELECT p.id::text FROM purchases AS p JOIN plans ON plans.id = p.plan_id"
        " WHERE p.state = 'succeeded' AND plans.kind <> 'class_pack' AND NOT EXISTS"
        " (SELECT 1 FROM subscriptions AS s WHERE s.entitlement_id = p.entitlement_id)"
    ),
    "an invoice number skipped": (
        "SELECT number::text FROM generate_series(1, (SELECT max(number) FROM invoices))"
        " AS number WHERE number NOT IN (SELECT number FROM invoices)"
    ),
}


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    """A Postgres server of this module's own, which its tests kill (the session's serves
    every other module). Durable, as in production: a crash keeps what was committed."""
    with scratch_dir("postgres") as scratch, EmbeddedPostgres(scratch / "data") as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def proxy(stripe_api_base: str) -> AsyncIterator[StripeProxy]:
    """Stripe as Billing reaches it: through a proxy that stalls a card's requests on demand
    and keeps Stripe's idempotency promise, which localstripe does not."""
    async with stripe_proxy(stripe_api_base) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def billing(
    postgres: EmbeddedPostgres,
    nats_url: str,
    event_prefix: str,
    access_tokens: AccessTokens,
    proxy: StripeProxy,
) -> AsyncIterator[RunningServer]:
    """Billing in this process, on the Postgres this module kills, paying through the proxy."""
    async with running_billing(
        postgres.url, nats_url, event_prefix, access_tokens.jwks_url, proxy.api_base
    ) as running:
        yield running


@dataclass(frozen=True)
class Buyer:
    """A member, with the card they pay with."""

    member: str
    card: str

    @property
    def purchase(self) -> str:
        """The name of the purchase the member's request makes."""
        return f"users/{self.member}/purchases/{purchase_id(uuid.UUID(self.member), REQUEST)}"


def buyers(count: int, stripe_api_base: str) -> list[Buyer]:
    return [Buyer(member, tokenized_card(stripe_api_base, CARD_OK)) for member in members(count)]


async def buy(billing: Any, tokens: AccessTokens, buyer: Buyer, plan: str) -> Answer:
    """The member's purchase request, with the same request id every time."""
    return await answer(
        billing.PurchasePlan(
            billing_pb.PurchasePlanRequest(
                parent=f"users/{buyer.member}",
                plan=plan,
                payment_method=buyer.card,
                request_id=REQUEST,
            ),
            metadata=tokens.metadata(buyer.member),
            timeout=DEADLINE,
        )
    )


async def half_written(billing: RunningServer) -> dict[str, list[str]]:
    """Each rule a crash broke, with what breaks it."""
    found = {
        rule: [str(value) for (value,) in await rows(billing, query)]
        for rule, query in HALF_WRITTEN.items()
    }
    paid = [str(source) for (source,) in await rows(billing, PAID)]
    invoiced = [str(source) for (source,) in await rows(billing, "SELECT source FROM invoices")]
    found["paid without its invoice"] = sorted(set(paid) - set(invoiced))
    found["an invoice for nothing paid"] = sorted(set(invoiced) - set(paid))
    # `payment.succeeded` is about the purchase, or about the subscription renewed.
    subjects = Counter(source.split("/periods/")[0] for source in paid)
    announcements = await announced(billing, PAYMENT_SUCCEEDED)
    found["paid, announced other than once"] = sorted(
        subject
        for subject in subjects | announcements
        if subjects[subject] != announcements[subject]
    )
    return {rule: broken for rule, broken in found.items() if broken}


async def unaccounted_charges(billing: RunningServer, stripe_api_base: str) -> list[str]:
    """Stripe's charges that no settled payment and no reservation accounts for: a purchase's
    intent must be its purchase's, paid or reserved (its webhook or retry settles it); a
    subscription's intents, one per renewed period plus one per charge reserved (the renewer
    settles it)."""
    purchases = {
        f"users/{row.member_id}/purchases/{row.id}": row
        for row in await rows(
            billing,
            "SELECT id, member_id, state, payment_intent, attempt_until IS NOT NULL AS claimed"
            " FROM purchases",
        )
    }
    accounted = {
        f"users/{row.member_id}/subscriptions/{row.id}": row.periods
        for row in await rows(
            billing,
            "SELECT s.id, s.member_id, s.period_index + count(c.key) AS periods"
            " FROM subscriptions AS s LEFT JOIN subscription_charges AS c"
            " ON c.subscription_id = s.id GROUP BY s.id",
        )
    }
    unaccounted, renewals = [], dict.fromkeys(accounted, 0)
    for intent in payment_intents(stripe_api_base):
        metadata = intent.get("metadata") or {}
        if "subscription" in metadata:
            renewals[metadata["subscription"]] = renewals.get(metadata["subscription"], 0) + 1
            continue
        bought = purchases.get(metadata.get("purchase", ""))
        if bought is None or not (
            (bought.state, bought.payment_intent) == ("succeeded", intent["id"])
            or (bought.state == "processing" and bought.claimed and not bought.payment_intent)
        ):
            unaccounted.append(f"{intent['id']} for {metadata}")
    unaccounted += [
        f"{count} renewal charges of {name}, {accounted.get(name)} accounted for"
        for name, count in renewals.items()
        if count != accounted.get(name)
    ]
    return unaccounted


@asynccontextmanager
async def renewer(
    billing: RunningServer, stripe_api_base: str
) -> AsyncIterator[Callable[[datetime], Coroutine[Any, Any, int]]]:
    """Billing's renewer — what its periodic job runs — with the clock a test gives it
    (memberships fall due a month from now), charging through `stripe_api_base`; each run has
    one worker taking one at a time, so each is one renewal in flight."""
    engine = create_engine(billing.app.settings.database_url)
    payments = StripePayments(API_KEY, stripe_api_base)
    new_uow = partial(BillingUnitOfWork, session_factory(engine))

    async def renew(now: datetime) -> int:
        return await subscriptions.renew_due(
            new_uow, payments, clock=lambda: now, workers=1, batch=1
        )

    try:
        yield renew
    finally:
        await payments.close()
        await engine.dispose()


async def test_purchases_when_postgres_dies_are_unavailable_then_completed_once_each(
    postgres: EmbeddedPostgres,
    billing: RunningServer,
    proxy: StripeProxy,
    access_tokens: AccessTokens,
    stripe_api_base: str,
) -> None:
    everyone = buyers(3 * EACH, stripe_api_base)
    settling, charging, refused = everyone[:EACH], everyone[EACH : 2 * EACH], everyone[2 * EACH :]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{billing.port}") as channel:
        client = billing_grpc.BillingServiceStub(channel)
        pack = await plan_for_sale(client, access_tokens, billing_pb.Plan.KIND_CLASS_PACK)

        async with holding(billing, INVOICE_NUMBER_LOCK):
            in_transaction = [
                asyncio.create_task(buy(client, access_tokens, buyer, pack)) for buyer in settling
            ]
            await eventually_equal(lambda: lock_waiters(billing), EACH)
            proxy.stall.hold(*(buyer.card for buyer in charging))
            at_stripe = [
                asyncio.create_task(buy(client, access_tokens, buyer, pack)) for buyer in charging
            ]
            await asyncio.wait_for(proxy.stall.holding(EACH), WITHIN)
            postgres.kill()
        proxy.stall.release()
        in_flight = await asyncio.gather(*in_transaction, *at_stripe)
        during = [await buy(client, access_tokens, buyer, pack) for buyer in refused]
        assert [(a.code, a.reason) for a in [*in_flight, *during]] == [UNAVAILABLE] * 3 * EACH

        postgres.start()
        # Stripe charged each purchase in flight; each is reserved, none half-settled.
        charged = {
            buyer: intents_of(stripe_api_base, "purchase", buyer.purchase) for buyer in everyone
        }
        assert [len(charged[buyer]) for buyer in everyone] == [1] * 2 * EACH + [0] * EACH
        assert await half_written(billing) == {}
        assert await unaccounted_charges(billing, stripe_api_base) == []

        # A retry completes a purchase nothing was reserved for; the others stay claimed by
        # their dead attempt until ATTEMPT_LEASE runs out (ADR 0012), and Stripe's webhook —
        # which it redelivers until acknowledged — settles them meanwhile.
        first_retries = [await buy(client, access_tokens, buyer, pack) for buyer in everyone]
        assert [(a.code, a.reason) for a in first_retries] == [
            (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS")
        ] * 2 * EACH + [(grpc.StatusCode.OK, "")] * EACH
        for buyer in [*settling, *charging]:
            (intent,) = charged[buyer]
            await deliver(client, event_for(stripe_api_base, "payment_intent.succeeded", intent))
        # Paid now, so a retry is answered as it stands (ADR 0007), even while Stripe does not
        # answer about these payments: nothing is left to ask it.
        proxy.stall.hold(*(intent for buyer in everyone for intent in charged[buyer]))
        retries = await asyncio.gather(*(buy(client, access_tokens, b, pack) for b in everyone))
        proxy.stall.release()

    assert [(a.code, a.reason) for a in retries] == [(grpc.StatusCode.OK, "")] * 3 * EACH
    assert {a.reply.state for a in retries} == {billing_pb.Purchase.STATE_SUCCEEDED}
    for buyer, retried in zip(everyone, retries, strict=True):
        assert retried.reply.name == buyer.purchase
        assert len(intents_of(stripe_api_base, "purchase", buyer.purchase)) == 1
        granted = await rows(
            billing,
            "SELECT id FROM entitlements WHERE member_id = CAST(:member AS uuid)",
            member=buyer.member,
        )
        assert [f"users/{buyer.member}/entitlements/{row.id}" for row in granted] == [
            retried.reply.entitlement
        ]
    assert await half_written(billing) == {}
    assert await unaccounted_charges(billing, stripe_api_base) == []


async def test_the_renewer_when_postgres_dies_renews_each_membership_once(
    postgres: EmbeddedPostgres,
    billing: RunningServer,
    access_tokens: AccessTokens,
    stripe_api_base: str,
) -> None:
    holders = buyers(4 + 2 + 2, stripe_api_base)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{billing.port}") as channel:
        client = billing_grpc.BillingServiceStub(channel)
        monthly = await plan_for_sale(
            client, access_tokens, billing_pb.Plan.KIND_MONTHLY_MEMBERSHIP
        )
        bought = [await buy(client, access_tokens, holder, monthly) for holder in holders]
        assert {a.reply.state for a in bought} == {billing_pb.Purchase.STATE_SUCCEEDED}
        memberships = [
            (
                await client.ListSubscriptions(
                    billing_pb.ListSubscriptionsRequest(parent=f"users/{holder.member}"),
                    metadata=access_tokens.metadata(holder.member),
                )
            ).subscriptions[0]
            for holder in holders
        ]
    due = max(m.current_period_end_time.ToDatetime(UTC) for m in memberships) + timedelta(minutes=1)

    # The renewer's own way to Stripe, so this test stalls only its charges.
    async with stripe_proxy(stripe_api_base) as stripe, renewer(billing, stripe.api_base) as renew:
        async with holding(billing, INVOICE_NUMBER_LOCK):
            settling = [asyncio.create_task(renew(due)) for _ in range(4)]
            await eventually_equal(lambda: lock_waiters(billing), 4)
            stripe.stall.hold(*(holder.card for holder in holders))
            charging = [asyncio.create_task(renew(due)) for _ in range(2)]
            await asyncio.wait_for(stripe.stall.holding(2), WITHIN)
            postgres.kill()
        stripe.stall.release()
        started_during_the_outage = asyncio.create_task(renew(due))
        failures = await asyncio.gather(
            *settling, *charging, started_during_the_outage, return_exceptions=True
        )
        unavailable = [isinstance(f, Exception) and database_unavailable(f) for f in failures]
        assert unavailable == [True] * 7, failures

        postgres.start()
        assert await half_written(billing) == {}
        assert await unaccounted_charges(billing, stripe_api_base) == []
        assert await scalar(billing, "SELECT count(*) FROM subscription_charges") == 6
        # The two nobody had claimed at once; the six whose attempts died once their claims
        # run out, charged again with the same idempotency keys (Stripe answers as it did).
        assert await renew(due) == 2
        assert await renew(due + ATTEMPT_LEASE) == 6
        assert await renew(due + ATTEMPT_LEASE) == 0

    renewals = Counter(
        intent["metadata"]["subscription"]
        for intent in payment_intents(stripe_api_base)
        if "subscription" in (intent.get("metadata") or {})
    )
    assert renewals == Counter({membership.name: 1 for membership in memberships})
    periods = await rows(billing, "SELECT period_index FROM subscriptions")
    assert [row.period_index for row in periods] == [1] * len(memberships)
    invoiced = await rows(
        billing, "SELECT source FROM invoices WHERE source LIKE '%/subscriptions/%'"
    )
    assert sorted(row.source for row in invoiced) == sorted(
        f"{membership.name}/periods/1" for membership in memberships
    )
    assert await half_written(billing) == {}
    assert await unaccounted_charges(billing, stripe_api_base) == []
