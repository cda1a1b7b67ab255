"""Recurring memberships: billing periods, renewals and dunning, as pure rules.

A subscription starts when its first period is paid (a purchase of a membership plan), or
with a free trial whose end charges the first period (period -1 is the trial). Each renewal
charges the saved card off-session for the next period. A failed renewal makes it past_due
and retries on a schedule; the membership keeps working for a grace period, after which
booking stops (suspended); when the last retry fails the subscription is cancelled as unpaid.
Periods are counted from one anchor (the first period's start) so months never drift:
31 January renews on 28 February and again on 31 March. A freeze (pause with dates) books no
classes in its window and pushes the period's end, and every later one, back by its length.
Family members added to a membership (add-ons) have memberships of their own that follow it,
paid by its holder: each renewal charges their add-on price too.

A charge of a subscription's card (a renewal, an upgrade, a family member added) is reserved
before the card is charged, with all it takes to repeat the charge identically and to apply
it: one at a time per subscription, and nothing else changes the subscription meanwhile.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta

from stride.billing.domain.invoices import plan_lines, purchase_lines
from stride.billing.domain.money import Line, line, prorated
from stride.billing.domain.plans import Plan, PlanKind
from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument

GRACE = timedelta(days=3)  # A past_due membership still books this long after its period.
# Retried a day after the renewal failed, then when the grace period ends (the member is told
# booking is suspended if it fails again), then a last time before the subscription ends.
RETRY_DELAYS = (timedelta(days=1), timedelta(days=2), timedelta(days=4))
MAX_PAUSE = timedelta(days=90)
MAX_ADD_ONS = 5
_SUBSCRIPTIONS = uuid.UUID("9d1f0c2e-5b7a-4e36-8f21-6c3a0e9b7d54")
_PERIODS = {
    PlanKind.MONTHLY_MEMBERSHIP: relativedelta(months=1),
    PlanKind.ANNUAL_MEMBERSHIP: relativedelta(years=1),
}


class SubscriptionState(enum.Enum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"  # Only ever reported (`state_at`): a frozen subscription is stored active.
    SUSPENDED = "suspended"  # Only ever reported: past due beyond the grace period.
    CANCELLED = "cancelled"


def is_recurring(plan: Plan) -> bool:
    return plan.kind in _PERIODS


@dataclass(frozen=True)
class AddOn:
    """A family member on someone's membership, with a membership entitlement of their own."""

    member_id: uuid.UUID
    entitlement_id: uuid.UUID


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    member_id: uuid.UUID
    plan: Plan
    state: SubscriptionState
    anchor: datetime  # The first period's start.
    period_index: int  # 0 for the first period.
    payment_method: str  # Stripe's `pm_…`, charged off-session at renewal.
    entitlement_id: uuid.UUID
    cancel_at_period_end: bool = False
    failed_attempts: int = 0  # Failed renewals of the current period.
    pending_plan: Plan | None = None  # A downgrade, taking effect at the next renewal.
    paused: timedelta = timedelta(0)  # Frozen time so far: it pushes every later period back.
    pause_start: datetime | None = None  # The latest freeze, if any.
    pause_end: datetime | None = None
    next_attempt: datetime | None = None  # When the renewal is (re)tried; None once cancelled.
    cancelled: datetime | None = None
    trial_start: datetime | None = None  # If it started with a free trial (ending at anchor).
    add_ons: tuple[AddOn, ...] = ()

    @property
    def entitlement_ids(self) -> tuple[uuid.UUID, ...]:
        """The holder's membership and every family member's: all follow the subscription."""
        return (self.entitlement_id, *(add_on.entitlement_id for add_on in self.add_ons))

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/subscriptions/{self.id}"

    @property
    def period_start(self) -> datetime:
        return self._boundary(self.period_index)

    @property
    def period_end(self) -> datetime:
        return self._boundary(self.period_index + 1)

    def _boundary(self, periods: int) -> datetime:
        """The start of period `periods`: counted from the anchor, moved back by the time the
        membership was frozen before it (a freeze in the current period moves its end)."""
        if periods < 0 and self.trial_start is not None:
            return self.trial_start
        return self.anchor + _PERIODS[self.plan.kind] * periods + self.paused

    @property
    def trial_end(self) -> datetime | None:
        return self.anchor if self.trial_start is not None else None

    @property
    def paid(self) -> bool:
        """Whether a period has been paid yet: a commitment only runs from the first one."""
        return self.period_index >= 0

    @property
    def committed_until(self) -> datetime | None:
        """The end of the periods the member committed to, if the plan has a commitment."""
        periods = self.plan.commitment_periods
        return self._boundary(periods) if periods else None

    @property
    def ends_at_renewal(self) -> bool:
        """Whether the next renewal ends it instead: cancelled at period end, and the
        commitment (if any) served by then."""
        return self.cancel_at_period_end and (
            not self.paid or self.committed_until is None or self.period_end >= self.committed_until
        )

    def state_at(self, now: datetime) -> SubscriptionState:
        if self.state is SubscriptionState.ACTIVE and self._frozen_at(now):
            return SubscriptionState.PAUSED
        if self.state is SubscriptionState.PAST_DUE and now >= self.access_until:
            return SubscriptionState.SUSPENDED
        return self.state

    def _frozen_at(self, moment: datetime) -> bool:
        if self.pause_start is None or self.pause_end is None:
            return False
        return self.pause_start <= moment < self.pause_end

    @property
    def access_until(self) -> datetime:
        """Until when the membership books classes, as things stand."""
        if self.state is SubscriptionState.CANCELLED:
            return self.cancelled or self.period_end
        return self.period_end + GRACE

    @property
    def renewal_key(self) -> str:
        """Stripe's idempotency key for this renewal attempt: a renewer that runs twice, or
        crashes after charging, asks Stripe again with the same key and is not charged twice."""
        return f"subscription-{self.id}-period-{self.period_index + 1}-try-{self.failed_attempts}"


class ChargePurpose(enum.Enum):
    RENEWAL = "renewal"
    PLAN_CHANGE = "plan_change"  # An upgrade: the prorated difference, now.
    ADD_ON = "add_on"  # A family member added: their price for the rest of the period.


@dataclass(frozen=True)
class SubscriptionCharge:
    """A charge of a subscription's card in flight. It keeps the idempotency key and the exact
    parameters it was first sent with (Stripe refuses a key reused with others), so whoever
    repeats it after an attempt died repeats it identically, and what to apply when it is
    paid: the plan switched to or the family member added (`target`), and what the invoice
    bills (`source`, after the subscription's name)."""

    key: str
    subscription_id: uuid.UUID
    member_id: uuid.UUID  # The holder, whose card it is.
    purpose: ChargePurpose
    customer: str
    payment_method: str
    currency: str
    lines: tuple[Line, ...]
    source: str
    target: uuid.UUID | None
    claimed_until: datetime  # Until when the attempt that claimed it keeps others off.

    @property
    def subscription(self) -> str:
        return f"users/{self.member_id}/subscriptions/{self.subscription_id}"

    @property
    def amount_minor(self) -> int:
        return sum(item.total_minor for item in self.lines)


def subscription_id(purchase_id: uuid.UUID) -> uuid.UUID:
    """The subscription a paid membership purchase starts: one per purchase."""
    return uuid.uuid5(_SUBSCRIPTIONS, str(purchase_id))


def start_subscription(
    purchase_id: uuid.UUID,
    member_id: uuid.UUID,
    plan: Plan,
    payment_method: str,
    entitlement_id: uuid.UUID,
    paid: datetime,
    trial_days: int = 0,
) -> Subscription:
    """Active from `paid`, or trialing from then for `trial_days` when the first period is
    charged at the trial's end."""
    started = Subscription(
        subscription_id(purchase_id),
        member_id,
        plan,
        SubscriptionState.TRIALING if trial_days else SubscriptionState.ACTIVE,
        paid + timedelta(days=trial_days),
        -1 if trial_days else 0,
        payment_method,
        entitlement_id,
        trial_start=paid if trial_days else None,
    )
    return replace(started, next_attempt=started.period_end)


def renewed(subscription: Subscription) -> Subscription:
    """The next period is paid (on the plan it was switched to, if any)."""
    after = replace(
        subscription,
        plan=subscription.pending_plan or subscription.plan,
        pending_plan=None,
        state=SubscriptionState.ACTIVE,
        period_index=subscription.period_index + 1,
        failed_attempts=0,
    )
    return replace(after, next_attempt=after.period_end)


def renewal_failed(subscription: Subscription, now: datetime) -> Subscription:
    """Past due and retried later, or cancelled as unpaid after the last retry."""
    attempts = subscription.failed_attempts + 1
    if attempts > len(RETRY_DELAYS):
        return cancel_now(replace(subscription, failed_attempts=attempts), now)
    return replace(
        subscription,
        state=SubscriptionState.PAST_DUE,
        failed_attempts=attempts,
        next_attempt=now + RETRY_DELAYS[attempts - 1],
    )


def end_of_term(subscription: Subscription) -> Subscription:
    """Cancelled at the end of the period the member asked to stop after."""
    return replace(
        subscription,
        state=SubscriptionState.CANCELLED,
        next_attempt=None,
        cancelled=subscription.period_end,
    )


def cancel_now(subscription: Subscription, now: datetime) -> Subscription:
    if subscription.state is SubscriptionState.CANCELLED:
        raise FailedPrecondition("SUBSCRIPTION_CANCELLED", "subscription.cancelled")
    return replace(
        subscription, state=SubscriptionState.CANCELLED, next_attempt=None, cancelled=now
    )


def pause(
    subscription: Subscription, start: datetime, end: datetime, now: datetime
) -> Subscription:
    """Freezes the membership from `start` to `end` (within the paid period, up to MAX_PAUSE):
    no classes in between, and the period — with the next renewal — ends that much later."""
    if subscription.state is not SubscriptionState.ACTIVE or subscription.cancel_at_period_end:
        raise FailedPrecondition("SUBSCRIPTION_NOT_ACTIVE", "subscription.not_active")
    if subscription.pause_end is not None and subscription.pause_end > now:
        raise FailedPrecondition("ALREADY_PAUSED", "subscription.already_paused")
    violations = []
    if not now <= start < subscription.period_end:
        violations.append(FieldViolation("start_time", "subscription.pause_start_in_period"))
    if not start < end <= start + MAX_PAUSE:
        violations.append(
            FieldViolation("end_time", "subscription.pause_length", {"days": MAX_PAUSE.days})
        )
    if violations:
        raise InvalidArgument(violations)
    frozen = replace(
        subscription, paused=subscription.paused + (end - start), pause_start=start, pause_end=end
    )
    return replace(frozen, next_attempt=frozen.period_end)


def check_member_may_cancel_now(subscription: Subscription, now: datetime) -> None:
    """A commitment cannot be cut short; cancelling at period end ends it when served."""
    until = subscription.committed_until
    if subscription.paid and until is not None and now < until:
        raise FailedPrecondition(
            "COMMITTED", "subscription.committed", params={"until": until.date().isoformat()}
        )


def cancel_at_period_end(subscription: Subscription) -> Subscription:
    if subscription.state is SubscriptionState.CANCELLED:
        raise FailedPrecondition("SUBSCRIPTION_CANCELLED", "subscription.cancelled")
    return replace(subscription, cancel_at_period_end=True)


def check_plan_change(subscription: Subscription, new_plan: Plan) -> None:
    """A live subscription moves to another plan of the same studio, currency and period."""
    if subscription.state is not SubscriptionState.ACTIVE or subscription.cancel_at_period_end:
        raise FailedPrecondition("SUBSCRIPTION_NOT_ACTIVE", "subscription.not_active")
    same_kind = (new_plan.studio, new_plan.currency, new_plan.kind) == (
        subscription.plan.studio,
        subscription.plan.currency,
        subscription.plan.kind,
    )
    if not same_kind or new_plan.id == subscription.plan.id:
        raise InvalidArgument([FieldViolation("plan", "subscription.plan_not_switchable")])
    if subscription.add_ons and new_plan.add_on_price_minor is None:
        raise InvalidArgument([FieldViolation("plan", "subscription.plan_without_add_ons")])


def is_upgrade(subscription: Subscription, new_plan: Plan) -> bool:
    """Upgrades apply now, with the rest of the period prorated; anything else applies at the
    next renewal, so a member is never refunded for part of a period."""
    return new_plan.price_minor > subscription.plan.price_minor


def next_period_lines(subscription: Subscription) -> tuple[Line, ...]:
    """What the next renewal charges: the plan it will be on (the first period after a trial
    like a purchase, at the intro price if any), and each family member on it."""
    plan = subscription.pending_plan or subscription.plan
    base = plan_lines(plan, "line.renewal") if subscription.paid else purchase_lines(plan)
    return base + tuple(
        line("line.add_on", plan.add_on_price_minor or 0, plan.vat_rate_basis_points)
        for _ in subscription.add_ons
    )


def check_add_on(subscription: Subscription, member_id: uuid.UUID, now: datetime) -> None:
    """A live, paid membership whose plan offers add-ons takes up to MAX_ADD_ONS others."""
    if subscription.state is not SubscriptionState.ACTIVE or subscription.cancel_at_period_end:
        raise FailedPrecondition("SUBSCRIPTION_NOT_ACTIVE", "subscription.not_active")
    if subscription.plan.add_on_price_minor is None:
        raise FailedPrecondition("NO_ADD_ONS", "subscription.no_add_ons")
    if not subscription.period_start <= now < subscription.period_end:
        raise FailedPrecondition("RENEWAL_PENDING", "subscription.renewal_pending")
    if member_id == subscription.member_id:
        raise InvalidArgument([FieldViolation("member", "subscription.add_on_is_holder")])
    if len(subscription.add_ons) >= MAX_ADD_ONS:
        raise FailedPrecondition(
            "TOO_MANY_ADD_ONS", "subscription.too_many_add_ons", params={"max": MAX_ADD_ONS}
        )


def add_on_lines(subscription: Subscription, now: datetime) -> tuple[Line, ...]:
    """What adding a family member now charges: their price for the rest of this period."""
    plan = subscription.plan
    remaining = prorated(
        plan.add_on_price_minor or 0, now, subscription.period_start, subscription.period_end
    )
    return (line("line.add_on_remaining", remaining, plan.vat_rate_basis_points),)
