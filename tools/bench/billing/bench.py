"""Renewal day: N memberships fall due at once, and Billing's renewer charges each card
off-session through Stripe (localstripe) and moves its period on.

    ./pants run tools/bench/billing:billing -- --subscriptions 10000 --workers 8

Runs the renewer in this process against a scratch database (on DATABASE_URL's server, or an
embedded one) and its own localstripe. Members, Stripe customers and saved cards are created
first and not measured. Each period is renewed twice over: first against an instant provider
(a baseline that answers at once, so what remains is Stride's own work), then against
localstripe; the ratio and the share of time a charge was at the provider show what the
payment provider costs, and this process's CPU time per renewal what Stride's own work costs
when the machine is shared (Postgres's is not in it). `--batch` is how many subscriptions a
worker takes at once (1: one at a time, as before batching). `--instant-only` runs the
baseline alone, without localstripe (whose charges slow as it fills: 10,000 of them take half
an hour); its members' customers and cards are names only the instant provider sees. Figures
are printed, not asserted; docs/performance.md keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import stripe

from stack.up import STRIPE_API_KEY, start_postgres, start_stripe
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.adapters.tables import EntitlementRecord, PaymentCustomerRecord
from stride.billing.domain.payments import PaymentOutcome
from stride.billing.domain.plans import Plan, PlanKind
from stride.billing.domain.purchases import PurchaseState
from stride.billing.domain.subscriptions import Subscription, start_subscription
from stride.billing.main import MIGRATIONS
from stride.billing.service_layer.payments import Charges
from stride.billing.service_layer.subscriptions import RENEWAL_BATCH, renew_due
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.db.engine import create_engine, drop_database, ensure_database, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.local.ports import free_port

ANCHOR = datetime(2027, 1, 1, 6, tzinfo=UTC)
PLAN = Plan(
    uuid.uuid4(), "bench", "Monthly", "شهري", PlanKind.MONTHLY_MEMBERSHIP, "SAR", 69_900, 1500
)


class TimedProvider:
    """Counts the time renewals spend inside the provider's charge call: all of it (charges
    in flight at once each count), and the time with at least one in flight."""

    def __init__(self, inner: Charges) -> None:
        self._inner = inner
        self.waited = 0.0
        self.busy = 0.0
        self._in_flight = 0
        self._busy_since = 0.0

    async def charge(self, *args: Any, **kwargs: Any) -> PaymentOutcome:
        started = time.perf_counter()
        if not self._in_flight:
            self._busy_since = started
        self._in_flight += 1
        try:
            return await self._inner.charge(*args, **kwargs)
        finally:
            ended = time.perf_counter()
            self.waited += ended - started
            self._in_flight -= 1
            if not self._in_flight:
                self.busy += ended - self._busy_since


class InstantProvider:
    """The baseline: every charge succeeds at once, without a network."""

    async def charge(
        self,
        customer: str,
        payment_method: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
        *,
        off_session: bool = False,
    ) -> PaymentOutcome:
        return PaymentOutcome(PurchaseState.SUCCEEDED, f"pi_{uuid.uuid4().hex}")


@dataclass(frozen=True)
class Run:
    name: str
    renewed: int
    seconds: float
    cpu_seconds: float  # This process's, Postgres's not included.
    provider: TimedProvider

    @property
    def rate(self) -> float:
        return self.renewed / self.seconds

    def line(self) -> str:
        cpu_ms = 1000 * self.cpu_seconds / max(self.renewed, 1)
        busy = self.provider.busy / self.seconds
        in_flight = self.provider.waited / self.seconds
        return (
            f"{self.name:<26} {self.renewed:6d} renewals in {self.seconds:6.1f} s"
            f"  {self.rate:8.1f} /s   {cpu_ms:5.2f} ms of this process's CPU each"
            f"   a charge at the provider {busy:5.1%} of the time,"
            f" {in_flight:5.1f} on average"
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/billing", description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--batch", type=int, default=RENEWAL_BATCH, help="subscriptions a worker takes at once"
    )
    parser.add_argument(
        "--instant-only",
        action="store_true",
        help="renew against the instant provider alone: no localstripe, no ratio",
    )
    return parser.parse_args(argv)


def stripe_member(client: stripe.StripeClient, member: uuid.UUID) -> tuple[str, str]:
    """A Stripe customer with a saved card, as the member's first purchase leaves them."""
    customer = client.v1.customers.create(params={"metadata": {"member": str(member)}})
    card: Any = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    method = client.v1.payment_methods.create(params={"type": "card", "card": card})
    client.v1.payment_methods.attach(str(method.id), params={"customer": str(customer.id)})
    return str(customer.id), str(method.id)


def stripe_members(api_base: str, members: list[uuid.UUID]) -> list[tuple[str, str]]:
    client = stripe.StripeClient(STRIPE_API_KEY, base_addresses={"api": api_base})
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        cards = list(pool.map(partial(stripe_member, client), members))
    seconds = time.perf_counter() - started
    print(f"seeded {len(members)} Stripe customers with cards in {seconds:.1f} s")
    return cards


def instant_members(members: list[uuid.UUID]) -> list[tuple[str, str]]:
    """Customers and cards that only the instant provider is shown."""
    return [(f"cus_{member.hex[:24]}", f"pm_{member.hex[:24]}") for member in members]


async def seed(
    new_uow: partial[BillingUnitOfWork], api_base: str | None, count: int
) -> list[Subscription]:
    members = [uuid.uuid4() for _ in range(count)]
    cards = instant_members(members) if api_base is None else stripe_members(api_base, members)
    subscriptions = []
    uow = new_uow()
    async with uow:
        await uow.plans.add(PLAN, ANCHOR)
        for member, (customer, card) in zip(members, cards, strict=True):
            subscription = start_subscription(
                uuid.uuid4(), member, PLAN, card, uuid.uuid4(), ANCHOR
            )
            uow.session.add(PaymentCustomerRecord(member_id=member, customer=customer))
            uow.session.add(_membership(subscription))
            subscriptions.append(subscription)
        await uow.session.flush()
        for subscription in subscriptions:
            await uow.subscriptions.add(subscription, ANCHOR)
        await uow.commit()
    return subscriptions


def _membership(subscription: Subscription) -> EntitlementRecord:
    return EntitlementRecord(
        id=subscription.entitlement_id,
        member_id=subscription.member_id,
        kind="membership",
        studio="studios/bench",
        credits_total=0,
        credits_remaining=0,
        start_time=subscription.anchor,
        expire_time=subscription.access_until,
        created_at=subscription.anchor,
    )


async def renew(
    name: str,
    new_uow: partial[BillingUnitOfWork],
    provider: Charges,
    due: datetime,
    args: argparse.Namespace,
) -> Run:
    timed = TimedProvider(provider)
    started, cpu_started = time.perf_counter(), time.process_time()
    renewed = await renew_due(
        new_uow, timed, clock=lambda: due, workers=args.workers, batch=args.batch
    )
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return Run(name, renewed, seconds, cpu_seconds, timed)


async def bench(server_url: str, api_base: str | None, args: argparse.Namespace) -> None:
    """`api_base`: localstripe's, or None to renew against the instant provider alone."""
    name = f"bench_billing_{uuid.uuid4().hex[:8]}"
    database_url = await ensure_database(server_url, name)
    await run_migrations(database_url, MIGRATIONS)
    engine = create_engine(database_url, pool_size=args.workers + 2)
    new_uow = partial(BillingUnitOfWork, session_factory(engine))
    try:
        subscriptions = await seed(new_uow, api_base, args.subscriptions)
        first_due = subscriptions[0].period_end + timedelta(minutes=1)
        second_due = replace(subscriptions[0], period_index=1).period_end + timedelta(minutes=1)
        baseline = await renew(
            "instant provider (baseline)", new_uow, InstantProvider(), first_due, args
        )
        if api_base is None:
            print(baseline.line())
            return
        stripe_payments = StripePayments(STRIPE_API_KEY, api_base)
        try:
            stripe_run = await renew("localstripe", new_uow, stripe_payments, second_due, args)
        finally:
            await stripe_payments.close()
        print(baseline.line())
        print(stripe_run.line())
        print(f"localstripe ÷ baseline throughput: {stripe_run.rate / baseline.rate:.2f}")
    finally:
        await engine.dispose()
        await drop_database(server_url, name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="stride-bench-") as scratch:
        data = Path(scratch)
        data.chmod(0o755)
        server_url = start_postgres(data, free_port(), stack)
        api_base = None
        if not args.instant_only:
            api_base = start_stripe(data, free_port(), stack, durable=False).api_base
        print(
            f"{args.subscriptions} memberships due at once,"
            f" {args.workers} renewers taking {args.batch} at a time"
        )
        asyncio.run(bench(server_url, api_base, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
