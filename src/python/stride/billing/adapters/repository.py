"""Loads and stores plans, entitlements, holds, payments and subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select

from stride.billing.adapters.claims import claim_oldest
from stride.billing.adapters.tables import (
    EntitlementRecord,
    HoldRecord,
    PaymentCustomerRecord,
    PlanRecord,
    PurchaseRecord,
    RefundRecord,
    StripeEventRecord,
    SubscriptionAddOnRecord,
    SubscriptionChargeRecord,
    SubscriptionRecord,
)
from stride.billing.domain.entitlements import Entitlement, Hold, HoldState, Kind
from stride.billing.domain.money import Line
from stride.billing.domain.plans import Plan, PlanKind
from stride.billing.domain.purchases import Purchase, PurchaseState, Refund, RefundState
from stride.billing.domain.subscriptions import (
    AddOn,
    ChargePurpose,
    Subscription,
    SubscriptionCharge,
    SubscriptionState,
)


class PlanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, plan: Plan, now: datetime) -> None:
        self._db.add(
            PlanRecord(
                id=plan.id,
                studio=plan.studio,
                display_name_en=plan.display_name_en,
                display_name_ar=plan.display_name_ar,
                kind=plan.kind.value,
                currency=plan.currency,
                price_minor=plan.price_minor,
                vat_rate_basis_points=plan.vat_rate_basis_points,
                credits=plan.credits,
                valid_days=plan.valid_days,
                intro_price_minor=plan.intro_price_minor,
                commitment_periods=plan.commitment_periods,
                trial_days=plan.trial_days,
                add_on_price_minor=plan.add_on_price_minor,
                created_at=now,
            )
        )
        await self._db.flush()

    async def get(self, studio: str, plan_id: uuid.UUID) -> Plan | None:
        record = await self._db.get(PlanRecord, plan_id)
        return _to_plan(record) if record and record.studio == studio else None

    async def for_studio(self, studio: str, offset: int, limit: int) -> list[Plan]:
        records = await self._db.execute(
            select(PlanRecord)
            .where(PlanRecord.studio == studio)
            .order_by(col(PlanRecord.created_at), col(PlanRecord.id))
            .offset(offset)
            .limit(limit)
        )
        return [_to_plan(record) for record in records.scalars().all()]


def _to_plan(record: PlanRecord) -> Plan:
    return Plan(
        id=record.id,
        studio=record.studio,
        display_name_en=record.display_name_en,
        display_name_ar=record.display_name_ar,
        kind=PlanKind(record.kind),
        currency=record.currency,
        price_minor=record.price_minor,
        vat_rate_basis_points=record.vat_rate_basis_points,
        credits=record.credits,
        valid_days=record.valid_days,
        intro_price_minor=record.intro_price_minor,
        commitment_periods=record.commitment_periods,
        trial_days=record.trial_days,
        add_on_price_minor=record.add_on_price_minor,
    )


class EntitlementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, entitlement: Entitlement, now: datetime) -> None:
        self._db.add(
            EntitlementRecord(
                id=entitlement.id,
                member_id=entitlement.member_id,
                kind=entitlement.kind.value,
                studio=entitlement.studio,
                credits_total=entitlement.credits_total,
                credits_remaining=entitlement.credits_remaining,
                start_time=entitlement.start,
                expire_time=entitlement.expire,
                created_at=now,
            )
        )
        await self._db.flush()

    async def for_member(
        self, member_id: uuid.UUID, *, lock: bool = False, offset: int = 0, limit: int = 1000
    ) -> list[Entitlement]:
        """`lock`: holds for one member are decided one at a time, so credits can't go twice."""
        query = (
            select(EntitlementRecord)
            .where(EntitlementRecord.member_id == member_id)
            .order_by(col(EntitlementRecord.created_at).desc(), col(EntitlementRecord.id))
            .offset(offset)
            .limit(limit)
        )
        if lock:
            query = query.with_for_update()
        records = await self._db.execute(query)
        return [_to_entitlement(record) for record in records.scalars().all()]

    async def get(self, entitlement_id: uuid.UUID) -> Entitlement | None:
        record = await self._db.get(EntitlementRecord, entitlement_id)
        return _to_entitlement(record) if record else None

    async def change_credits(self, entitlement_id: uuid.UUID, delta: int) -> None:
        table = EntitlementRecord
        await self._db.execute(
            update(table)
            .where(col(table.id) == entitlement_id)
            .values(credits_remaining=col(table.credits_remaining) + delta)
        )

    async def pause(
        self, entitlement_id: uuid.UUID, paused_from: datetime, paused_until: datetime
    ) -> None:
        await self._db.execute(
            update(EntitlementRecord)
            .where(col(EntitlementRecord.id) == entitlement_id)
            .values(paused_from=paused_from, paused_until=paused_until)
        )

    async def end_at(self, entitlement_id: uuid.UUID, expire: datetime) -> None:
        """Moves when an entitlement stops (a membership renewed, lapsed or cancelled)."""
        await self.end_all_at({entitlement_id: expire})

    async def end_all_at(self, expiries: Mapping[uuid.UUID, datetime]) -> None:
        """Moves when each entitlement stops, in one statement for all. The rows are locked
        first in the order holds lock them (`for_member`: by member, then as listed), so a
        batch of renewals and a batch of holds never wait for each other in a cycle."""
        if expiries:
            await self._db.execute(
                select(EntitlementRecord.id)
                .where(col(EntitlementRecord.id).in_(list(expiries)))
                .order_by(
                    col(EntitlementRecord.member_id),
                    col(EntitlementRecord.created_at).desc(),
                    col(EntitlementRecord.id),
                )
                .with_for_update()
            )
            await self._db.execute(
                update(EntitlementRecord),
                [{"id": id_, "expire_time": expire} for id_, expire in expiries.items()],
            )

    async def hold(self, hold_id: uuid.UUID, *, lock: bool = False) -> Hold | None:
        query = select(HoldRecord).where(HoldRecord.id == hold_id)
        if lock:
            query = query.with_for_update()
        record = (await self._db.execute(query)).scalar_one_or_none()
        return _to_hold(record) if record else None

    async def add_hold(self, hold: Hold, now: datetime) -> None:
        self._db.add(
            HoldRecord(
                id=hold.id,
                member_id=hold.member_id,
                booking=hold.booking,
                studio=hold.studio,
                class_start=hold.class_start,
                entitlement_id=hold.entitlement_id,
                state=hold.state.value,
                created_at=now,
                requested_at=now,
            )
        )
        await self._db.flush()

    async def hold_again(self, hold: Hold, now: datetime) -> None:
        """A released hold asked for again (its booking was never made, and is being made now):
        held anew, on the entitlement chosen this time."""
        await self._db.execute(
            update(HoldRecord)
            .where(col(HoldRecord.id) == hold.id)
            .values(
                state=HoldState.HELD.value,
                booking=hold.booking,
                studio=hold.studio,
                class_start=hold.class_start,
                entitlement_id=hold.entitlement_id,
                released_at=None,
                requested_at=now,
                verified_at=None,
            )
        )

    async def asked_again(self, hold_id: uuid.UUID, now: datetime) -> bool:
        """Scheduling asked for this hold again, while it is held: its booking may commit from
        now on. False when there is none held (a concurrent release is waited for, then seen)."""
        result = await self._db.execute(
            update(HoldRecord)
            .where(col(HoldRecord.id) == hold_id, col(HoldRecord.state) == HoldState.HELD.value)
            .values(requested_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def unverified(
        self, asked_before: datetime, *, limit: int, lock_id: uuid.UUID | None = None
    ) -> list[Hold]:
        """Held credits whose booking was never seen to exist and that Scheduling has not asked
        for since `asked_before`, oldest first; with `lock_id`, only that one, row locked."""
        query = select(HoldRecord).where(
            HoldRecord.state == HoldState.HELD.value,
            col(HoldRecord.verified_at).is_(None),
            col(HoldRecord.requested_at) < asked_before,
        )
        if lock_id is not None:
            query = query.where(HoldRecord.id == lock_id).with_for_update()
        records = await self._db.execute(query.order_by(col(HoldRecord.requested_at)).limit(limit))
        return [_to_hold(record) for record in records.scalars().all()]

    async def verified(self, hold_ids: Collection[uuid.UUID], now: datetime) -> None:
        """Their bookings exist: never asked about again (a cancellation gives them back)."""
        if hold_ids:
            await self._db.execute(
                update(HoldRecord)
                .where(col(HoldRecord.id).in_(list(hold_ids)))
                .values(verified_at=now)
            )

    async def release(self, hold_id: uuid.UUID, now: datetime) -> None:
        await self._db.execute(
            update(HoldRecord)
            .where(col(HoldRecord.id) == hold_id)
            .values(state=HoldState.RELEASED.value, released_at=now)
        )


def _to_entitlement(record: EntitlementRecord) -> Entitlement:
    return Entitlement(
        id=record.id,
        member_id=record.member_id,
        kind=Kind(record.kind),
        studio=record.studio,
        credits_total=record.credits_total,
        credits_remaining=record.credits_remaining,
        start=record.start_time,
        expire=record.expire_time,
        paused_from=record.paused_from,
        paused_until=record.paused_until,
    )


def _to_hold(record: HoldRecord) -> Hold:
    return Hold(
        id=record.id,
        member_id=record.member_id,
        booking=record.booking,
        studio=record.studio,
        class_start=record.class_start,
        entitlement_id=record.entitlement_id,
        state=HoldState(record.state),
    )


class PaymentRepository:
    """Stripe customers, purchases and the Stripe events already handled."""

    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def customer(self, member_id: uuid.UUID) -> str | None:
        record = await self._db.get(PaymentCustomerRecord, member_id)
        return record.customer if record else None

    async def customers(self, member_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The Stripe customers of those members who have one."""
        found = await self._db.execute(
            select(PaymentCustomerRecord.member_id, PaymentCustomerRecord.customer).where(
                col(PaymentCustomerRecord.member_id).in_(list(member_ids))
            )
        )
        return {row.member_id: row.customer for row in found}

    async def keep_customer(self, member_id: uuid.UUID, customer: str) -> str:
        """Records the member's Stripe customer; if a concurrent request recorded one first,
        that one stays and is returned."""
        statement = insert(PaymentCustomerRecord).values(member_id=member_id, customer=customer)
        kept = await self._db.execute(
            statement.on_conflict_do_update(
                index_elements=["member_id"],
                set_={"member_id": statement.excluded.member_id},  # No change; returns the row.
            ).returning(col(PaymentCustomerRecord.customer))
        )
        return str(kept.scalar_one())

    async def replace_customer(self, member_id: uuid.UUID, gone: str, new: str) -> str:
        """Records `new` as the member's customer in place of `gone`; if a concurrent request
        replaced it first, that replacement stays and is returned."""
        await self._db.execute(
            update(PaymentCustomerRecord)
            .where(
                col(PaymentCustomerRecord.member_id) == member_id,
                col(PaymentCustomerRecord.customer) == gone,
            )
            .values(customer=new)
        )
        kept = await self._db.execute(
            select(PaymentCustomerRecord.customer).where(
                PaymentCustomerRecord.member_id == member_id
            )
        )
        return str(kept.scalar_one())  # Customers are replaced, never deleted.

    async def open_purchase(self, purchase: Purchase) -> Purchase:
        """The purchase with this id, locked: stored as given unless it exists already (the
        attempt a retry repeats, or a webhook that came first)."""
        await self._db.execute(
            insert(PurchaseRecord)
            .values(
                id=purchase.id,
                member_id=purchase.member_id,
                plan_id=purchase.plan.id,
                amount_minor=purchase.amount_minor,
                currency=purchase.plan.currency,
                state=purchase.state.value,
                payment_method=purchase.payment_method,
                trial_days=purchase.trial_days,
                created_at=purchase.created,
                updated_at=purchase.created,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        stored = await self.purchase(purchase.id, lock=True)
        if stored is None:  # Purchases are never deleted.
            raise LookupError(f"purchase {purchase.id} vanished")
        return stored

    async def end_attempt(self, purchase_id: uuid.UUID, claimed_until: datetime) -> None:
        """Ends an attempt's claim on a purchase, unless another attempt has claimed it since."""
        await self._db.execute(
            update(PurchaseRecord)
            .where(
                col(PurchaseRecord.id) == purchase_id,
                col(PurchaseRecord.attempt_until) == claimed_until,
            )
            .values(attempt_until=None)
        )

    async def purchase(self, purchase_id: uuid.UUID, *, lock: bool = False) -> Purchase | None:
        query = select(PurchaseRecord, PlanRecord).join(
            PlanRecord, col(PlanRecord.id) == col(PurchaseRecord.plan_id)
        )
        query = query.where(PurchaseRecord.id == purchase_id)
        if lock:
            query = query.with_for_update(of=PurchaseRecord)
        row = (await self._db.execute(query)).first()
        return _to_purchase(row[0], _to_plan(row[1])) if row else None

    async def save_purchase(self, purchase: Purchase, now: datetime) -> None:
        await self._db.execute(
            update(PurchaseRecord)
            .where(col(PurchaseRecord.id) == purchase.id)
            .values(
                state=purchase.state.value,
                payment_intent=purchase.payment_intent,
                failure_code=purchase.failure_code,
                entitlement_id=purchase.entitlement_id,
                refunded_minor=purchase.refunded_minor,
                payment_method=purchase.payment_method,
                financing_payment=purchase.financing_payment,
                financing_url=purchase.financing_url,
                attempt_until=purchase.attempt_until,
                updated_at=now,
            )
        )

    async def refund(self, refund_id: uuid.UUID) -> Refund | None:
        """A refund; the caller locks its purchase first, which serializes its refunds."""
        record = await self._db.get(RefundRecord, refund_id)
        if record is None:
            return None
        return Refund(
            id=record.id,
            member_id=record.member_id,
            purchase_id=record.purchase_id,
            currency=record.currency,
            amount_minor=record.amount_minor,
            reason=record.reason,
            refunded_by=record.refunded_by,
            created=record.created_at,
            provider_refund=record.provider_refund,
            state=RefundState(record.state),
            attempt_until=record.attempt_until,
        )

    async def pending_refunds(self, purchase_id: uuid.UUID) -> int:
        """How much of a purchase is being refunded right now."""
        pending = await self._db.execute(
            select(func.coalesce(func.sum(RefundRecord.amount_minor), 0)).where(
                RefundRecord.purchase_id == purchase_id,
                RefundRecord.state == RefundState.PENDING.value,
            )
        )
        return int(pending.scalar_one())

    async def add_refund(self, refund: Refund) -> None:
        self._db.add(
            RefundRecord(
                id=refund.id,
                member_id=refund.member_id,
                purchase_id=refund.purchase_id,
                amount_minor=refund.amount_minor,
                currency=refund.currency,
                reason=refund.reason,
                refunded_by=refund.refunded_by,
                provider_refund=refund.provider_refund,
                state=refund.state.value,
                attempt_until=refund.attempt_until,
                created_at=refund.created,
            )
        )
        await self._db.flush()

    async def save_refund(self, refund: Refund) -> None:
        await self._db.execute(
            update(RefundRecord)
            .where(col(RefundRecord.id) == refund.id)
            .values(
                state=refund.state.value,
                provider_refund=refund.provider_refund,
                attempt_until=refund.attempt_until,
            )
        )

    async def claim_stale_refund(self, now: datetime, until: datetime) -> Refund | None:
        """A pending refund no attempt is working on (released, or its claim ran out), claimed
        until `until`; refunds another worker is taking are skipped."""
        claimed = await claim_oldest(
            self._db,
            RefundRecord,
            (col(RefundRecord.state) == RefundState.PENDING.value)
            & (
                col(RefundRecord.attempt_until).is_(None) | (col(RefundRecord.attempt_until) <= now)
            ),
            col(RefundRecord.created_at),
            "attempt_until",
            until,
        )
        return await self.refund(claimed[0].id) if claimed else None

    async def end_refund_attempt(self, refund_id: uuid.UUID, claimed_until: datetime) -> None:
        """Ends an attempt's claim on a refund, unless another attempt has claimed it since."""
        await self._db.execute(
            update(RefundRecord)
            .where(
                col(RefundRecord.id) == refund_id,
                col(RefundRecord.attempt_until) == claimed_until,
            )
            .values(attempt_until=None)
        )

    async def drop_refund(self, refund_id: uuid.UUID) -> None:
        """Forgets a pending refund the provider refused: nothing was given back."""
        await self._db.execute(
            delete(RefundRecord).where(
                col(RefundRecord.id) == refund_id,
                col(RefundRecord.state) == RefundState.PENDING.value,
            )
        )

    async def first_sight_of_event(self, event_id: str, event_type: str, now: datetime) -> bool:
        """Records a Stripe event as handled; False if it was already. A concurrent delivery
        of the same event waits here until the first one's transaction ends."""
        result = await self._db.execute(
            insert(StripeEventRecord)
            .values(id=event_id, type=event_type, received_at=now)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _to_purchase(record: PurchaseRecord, plan: Plan) -> Purchase:
    return Purchase(
        id=record.id,
        member_id=record.member_id,
        plan=plan,
        amount_minor=record.amount_minor,
        state=PurchaseState(record.state),
        created=record.created_at,
        payment_intent=record.payment_intent,
        entitlement_id=record.entitlement_id,
        failure_code=record.failure_code,
        refunded_minor=record.refunded_minor,
        payment_method=record.payment_method,
        financing_payment=record.financing_payment,
        financing_url=record.financing_url,
        trial_days=record.trial_days,
        attempt_until=record.attempt_until,
    )


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def add(self, subscription: Subscription, now: datetime) -> None:
        values = _subscription_values(subscription)
        self._db.add(SubscriptionRecord(**values, created_at=now, updated_at=now))
        await self._db.flush()

    async def save(self, subscription: Subscription, now: datetime) -> None:
        await self.save_all([subscription], now)

    async def save_all(self, subscriptions: Collection[Subscription], now: datetime) -> None:
        """Stores each subscription as it is now, in one statement for all."""
        if subscriptions:
            await self._db.execute(
                update(SubscriptionRecord),
                [{**_subscription_values(s), "updated_at": now} for s in subscriptions],
            )

    async def get(self, subscription_id: uuid.UUID, *, lock: bool = False) -> Subscription | None:
        query = self._joined().where(SubscriptionRecord.id == subscription_id)
        if lock:
            query = query.with_for_update(of=SubscriptionRecord)
        row = (await self._db.execute(query)).first()
        return (await self._with_add_ons([_from_row(row)]))[0] if row else None

    async def lock_all(
        self, subscription_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Subscription]:
        """Those subscriptions, locked in the order of their ids, so that transactions locking
        several at once wait for each other instead of deadlocking."""
        rows = await self._db.execute(
            self._joined()
            .where(col(SubscriptionRecord.id).in_(list(subscription_ids)))
            .order_by(col(SubscriptionRecord.id))
            .with_for_update(of=SubscriptionRecord)
        )
        found = await self._with_add_ons([_from_row(row) for row in rows.all()])
        return {subscription.id: subscription for subscription in found}

    async def for_member(self, member_id: uuid.UUID, offset: int, limit: int) -> list[Subscription]:
        rows = await self._db.execute(
            self._joined()
            .where(SubscriptionRecord.member_id == member_id)
            .order_by(col(SubscriptionRecord.created_at).desc(), col(SubscriptionRecord.id))
            .offset(offset)
            .limit(limit)
        )
        return await self._with_add_ons([_from_row(row) for row in rows.all()])

    async def any_at_studio(self, member_id: uuid.UUID, studio: str, now: datetime) -> bool:
        """Whether the member has ever had a membership at the studio, or is buying one there
        right now (a purchase whose attempt is in flight). Holds a lock on the question until
        commit, so two purchases at once cannot both see "never"."""
        await self._db.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{member_id}/{studio}", 0)))
        )
        subscribed = (
            select(SubscriptionRecord.id)
            .join(PlanRecord, col(PlanRecord.id) == col(SubscriptionRecord.plan_id))
            .where(SubscriptionRecord.member_id == member_id, PlanRecord.studio == studio)
        )
        buying = (
            select(PurchaseRecord.id)
            .join(PlanRecord, col(PlanRecord.id) == col(PurchaseRecord.plan_id))
            .where(
                PurchaseRecord.member_id == member_id,
                PlanRecord.studio == studio,
                col(PlanRecord.kind).in_(
                    [PlanKind.MONTHLY_MEMBERSHIP.value, PlanKind.ANNUAL_MEMBERSHIP.value]
                ),
                col(PurchaseRecord.attempt_until) > now,
            )
        )
        found = await self._db.execute(subscribed.union_all(buying).limit(1))
        return found.first() is not None

    async def claim_due(self, now: datetime, limit: int) -> list[Subscription]:
        """Up to `limit` subscriptions due by `now` with no payment in flight (a charge of
        their card, a refund of their first purchase), locked for this transaction. Rows
        another renewer holds are skipped, so renewers running side by side never take the
        same one."""
        free = ~_paying(col(SubscriptionRecord.id), col(SubscriptionRecord.entitlement_id))
        while True:
            rows = await self._db.execute(
                self._joined()
                .where(col(SubscriptionRecord.next_attempt) <= now, free)
                .order_by(col(SubscriptionRecord.next_attempt))
                .limit(limit)
                .with_for_update(of=SubscriptionRecord, skip_locked=True)
            )
            locked = [_from_row(row) for row in rows.all()]
            if not locked:
                return []
            # A row whose charge another renewer committed after this query's snapshot, and
            # then unlocked, is locked here without being read again (the row itself did not
            # change), so that charge went unseen: asked again, in a statement that sees it.
            # If none is left, the next query no longer finds those rows.
            still_free = await self._db.execute(
                select(col(SubscriptionRecord.id)).where(
                    col(SubscriptionRecord.id).in_([s.id for s in locked]), free
                )
            )
            ids = set(still_free.scalars())
            if ids:
                return await self._with_add_ons([s for s in locked if s.id in ids])

    async def refund_in_flight(self, subscription: Subscription) -> bool:
        """Whether the purchase that started the subscription is being refunded."""
        found = await self._db.execute(select(_refunding(subscription.entitlement_id)))
        return bool(found.scalar())

    async def charge_in_flight(self, subscription_id: uuid.UUID) -> SubscriptionCharge | None:
        record = (
            await self._db.execute(
                select(SubscriptionChargeRecord).where(
                    SubscriptionChargeRecord.subscription_id == subscription_id
                )
            )
        ).scalar_one_or_none()
        return _to_charge(record) if record else None

    async def reserve_charges(self, charges: Collection[SubscriptionCharge], now: datetime) -> None:
        self._db.add_all(
            SubscriptionChargeRecord(
                key=charge.key,
                subscription_id=charge.subscription_id,
                member_id=charge.member_id,
                purpose=charge.purpose.value,
                customer=charge.customer,
                payment_method=charge.payment_method,
                currency=charge.currency,
                lines=[
                    {"key": item.description_key, "net": item.net_minor, "vat": item.vat_minor}
                    for item in charge.lines
                ],
                source=charge.source,
                target=charge.target,
                claimed_until=charge.claimed_until,
                created_at=now,
            )
            for charge in charges
        )
        await self._db.flush()

    async def claim_charge(self, key: str, until: datetime) -> None:
        await self._db.execute(
            update(SubscriptionChargeRecord)
            .where(col(SubscriptionChargeRecord.key) == key)
            .values(claimed_until=until)
        )

    async def claim_stale_charges(
        self, now: datetime, until: datetime, limit: int
    ) -> list[SubscriptionCharge]:
        """Up to `limit` charges whose attempts died (their claims ran out), claimed for a new
        attempt until `until`; charges another renewer is taking are skipped."""
        records = await claim_oldest(
            self._db,
            SubscriptionChargeRecord,
            col(SubscriptionChargeRecord.claimed_until) <= now,
            col(SubscriptionChargeRecord.claimed_until),
            "claimed_until",
            until,
            limit,
        )
        return [_to_charge(record) for record in records]

    async def release_charge(self, key: str, now: datetime) -> None:
        """Lets another attempt take a charge at once (its answer did not come)."""
        await self.claim_charge(key, now)

    async def end_charges(self, keys: Collection[str]) -> set[str]:
        """Removes charges whose answers are applied; the keys of those another attempt had
        not applied (and removed) already."""
        ended = await self._db.execute(
            delete(SubscriptionChargeRecord)
            .where(col(SubscriptionChargeRecord.key).in_(list(keys)))
            .returning(col(SubscriptionChargeRecord.key))
        )
        return set(ended.scalars())

    async def add_add_on(self, subscription_id: uuid.UUID, add_on: AddOn, now: datetime) -> None:
        self._db.add(
            SubscriptionAddOnRecord(
                subscription_id=subscription_id,
                member_id=add_on.member_id,
                entitlement_id=add_on.entitlement_id,
                added_at=now,
            )
        )
        await self._db.flush()

    async def remove_add_on(self, subscription_id: uuid.UUID, member_id: uuid.UUID) -> None:
        await self._db.execute(
            delete(SubscriptionAddOnRecord).where(
                col(SubscriptionAddOnRecord.subscription_id) == subscription_id,
                col(SubscriptionAddOnRecord.member_id) == member_id,
            )
        )

    async def _with_add_ons(self, found: list[Subscription]) -> list[Subscription]:
        """The subscriptions with their family members, in the order they were added."""
        if not found:
            return found
        records = await self._db.execute(
            select(SubscriptionAddOnRecord)
            .where(col(SubscriptionAddOnRecord.subscription_id).in_([s.id for s in found]))
            .order_by(col(SubscriptionAddOnRecord.added_at))
        )
        add_ons: dict[uuid.UUID, list[AddOn]] = {}
        for record in records.scalars().all():
            add_ons.setdefault(record.subscription_id, []).append(
                AddOn(record.member_id, record.entitlement_id)
            )
        return [replace(s, add_ons=tuple(add_ons.get(s.id, ()))) for s in found]

    @staticmethod
    def _joined() -> Any:
        """Subscriptions with their plan and, if a downgrade waits, the plan it goes to."""
        return (
            select(SubscriptionRecord, PlanRecord, _PENDING_PLAN)
            .join(PlanRecord, col(PlanRecord.id) == col(SubscriptionRecord.plan_id))
            .outerjoin(
                _PENDING_PLAN, col(_PENDING_PLAN.id) == col(SubscriptionRecord.pending_plan_id)
            )
        )


_PENDING_PLAN = aliased(PlanRecord)


def _paying(subscription_id: Any, entitlement_id: Any) -> Any:
    """Whether a payment of this membership is in flight: a charge of its card, or a refund
    of the purchase that granted it."""
    charging = exists().where(col(SubscriptionChargeRecord.subscription_id) == subscription_id)
    return or_(charging, _refunding(entitlement_id))


def _refunding(entitlement_id: Any) -> Any:
    """Whether the purchase that granted this membership has a refund pending."""
    return (
        exists()
        .where(col(RefundRecord.state) == RefundState.PENDING.value)
        .where(col(PurchaseRecord.id) == col(RefundRecord.purchase_id))
        .where(col(PurchaseRecord.entitlement_id) == entitlement_id)
    )


def _to_charge(record: SubscriptionChargeRecord) -> SubscriptionCharge:
    return SubscriptionCharge(
        key=record.key,
        subscription_id=record.subscription_id,
        member_id=record.member_id,
        purpose=ChargePurpose(record.purpose),
        customer=record.customer,
        payment_method=record.payment_method,
        currency=record.currency,
        lines=tuple(Line(item["key"], item["net"], item["vat"]) for item in record.lines),
        source=record.source,
        target=record.target,
        claimed_until=record.claimed_until,
    )


def _from_row(row: Any) -> Subscription:
    record, plan, pending = row
    return _to_subscription(
        record, _to_plan(plan), _to_plan(pending) if pending is not None else None
    )


def _subscription_values(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "member_id": subscription.member_id,
        "plan_id": subscription.plan.id,
        "pending_plan_id": subscription.pending_plan.id if subscription.pending_plan else None,
        "state": subscription.state.value,
        "anchor": subscription.anchor,
        "period_index": subscription.period_index,
        "payment_method": subscription.payment_method,
        "entitlement_id": subscription.entitlement_id,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "failed_attempts": subscription.failed_attempts,
        "paused_seconds": int(subscription.paused.total_seconds()),
        "pause_start": subscription.pause_start,
        "pause_end": subscription.pause_end,
        "next_attempt": subscription.next_attempt,
        "cancelled": subscription.cancelled,
        "trial_start": subscription.trial_start,
    }


def _to_subscription(
    record: SubscriptionRecord, plan: Plan, pending_plan: Plan | None
) -> Subscription:
    return Subscription(
        id=record.id,
        member_id=record.member_id,
        plan=plan,
        pending_plan=pending_plan,
        state=SubscriptionState(record.state),
        anchor=record.anchor,
        period_index=record.period_index,
        payment_method=record.payment_method,
        entitlement_id=record.entitlement_id,
        cancel_at_period_end=record.cancel_at_period_end,
        failed_attempts=record.failed_attempts,
        paused=timedelta(seconds=record.paused_seconds),
        pause_start=record.pause_start,
        pause_end=record.pause_end,
        next_attempt=record.next_attempt,
        cancelled=record.cancelled,
        trial_start=record.trial_start,
    )
