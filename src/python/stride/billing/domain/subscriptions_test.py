import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.billing.domain.plans import Plan, PlanKind
from stride.billing.domain.subscriptions import (
    GRACE,
    MAX_PAUSE,
    RETRY_DELAYS,
    Subscription,
    SubscriptionState,
    cancel_at_period_end,
    cancel_now,
    check_member_may_cancel_now,
    pause,
    renewal_failed,
    renewed,
    start_subscription,
)
from stride.platform.errors import FailedPrecondition, InvalidArgument

MONTHLY = Plan(
    uuid.uuid4(), "olaya", "Monthly", "شهري", PlanKind.MONTHLY_MEMBERSHIP, "SAR", 69_900, 1500
)


def started(paid: datetime, plan: Plan = MONTHLY) -> Subscription:
    return start_subscription(uuid.uuid4(), uuid.uuid4(), plan, "pm_1", uuid.uuid4(), paid)


def test_months_do_not_drift_from_the_anchor() -> None:
    subscription = started(datetime(2027, 1, 31, 9, tzinfo=UTC))
    ends = []
    for _ in range(3):
        ends.append(subscription.period_end)
        subscription = renewed(subscription)
    assert [end.date().isoformat() for end in ends] == ["2027-02-28", "2027-03-31", "2027-04-30"]


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1)), st.integers(1, 40)
)
def test_periods_follow_each_other_without_gaps(paid: datetime, renewals: int) -> None:
    subscription = started(paid.replace(tzinfo=UTC))
    for _ in range(renewals):
        following = renewed(subscription)
        assert following.period_start == subscription.period_end
        assert following.next_attempt == following.period_end
        subscription = following


def test_dunning_retries_on_schedule_then_cancels_as_unpaid() -> None:
    subscription = started(datetime(2027, 1, 1, tzinfo=UTC))
    moment = subscription.period_end
    for attempt, delay in enumerate(RETRY_DELAYS, start=1):
        subscription = renewal_failed(subscription, moment)
        assert (subscription.state, subscription.failed_attempts) == (
            SubscriptionState.PAST_DUE,
            attempt,
        )
        assert subscription.next_attempt == moment + delay
        assert subscription.access_until == subscription.period_end + GRACE
        moment += delay
    ended = renewal_failed(subscription, moment)
    assert (ended.state, ended.next_attempt, ended.access_until) == (
        SubscriptionState.CANCELLED,
        None,
        moment,
    )


def test_a_trial_is_period_minus_one_and_its_end_anchors_the_paid_periods() -> None:
    trial_start = datetime(2027, 1, 24, 9, tzinfo=UTC)
    trialing = start_subscription(
        uuid.uuid4(), uuid.uuid4(), MONTHLY, "pm_1", uuid.uuid4(), trial_start, trial_days=7
    )
    assert (trialing.state, trialing.period_start, trialing.period_end) == (
        SubscriptionState.TRIALING,
        trial_start,
        datetime(2027, 1, 31, 9, tzinfo=UTC),
    )
    assert trialing.next_attempt == trialing.trial_end == trialing.period_end
    first = renewed(trialing)
    assert (first.state, first.period_index, first.period_start) == (
        SubscriptionState.ACTIVE,
        0,
        trialing.period_end,
    )
    assert renewed(first).period_start.date().isoformat() == "2027-02-28"


def test_a_commitment_only_starts_once_the_trial_is_paid_for() -> None:
    committed = Plan(
        uuid.uuid4(),
        "olaya",
        "Year",
        "سنة",
        PlanKind.MONTHLY_MEMBERSHIP,
        "SAR",
        49_900,
        1500,
        commitment_periods=12,
    )
    paid = datetime(2027, 1, 1, tzinfo=UTC)
    trialing = start_subscription(
        uuid.uuid4(), uuid.uuid4(), committed, "pm_1", uuid.uuid4(), paid, trial_days=14
    )
    check_member_may_cancel_now(trialing, paid + timedelta(days=1))
    assert cancel_at_period_end(trialing).ends_at_renewal
    active = renewed(trialing)
    with pytest.raises(FailedPrecondition):
        check_member_may_cancel_now(active, active.period_start + timedelta(days=1))
    assert not cancel_at_period_end(active).ends_at_renewal


def test_a_cancelled_subscription_cannot_be_cancelled_again() -> None:
    subscription = started(datetime(2027, 1, 1, tzinfo=UTC))
    ended = cancel_now(subscription, subscription.period_start + timedelta(days=2))
    with pytest.raises(FailedPrecondition):
        cancel_now(ended, ended.period_start + timedelta(days=3))


def test_a_freeze_moves_this_period_and_every_later_one_back() -> None:
    subscription = started(datetime(2027, 1, 31, 9, tzinfo=UTC))
    start = datetime(2027, 2, 10, tzinfo=UTC)
    frozen = pause(subscription, start, start + timedelta(days=14), start - timedelta(days=1))

    assert frozen.period_end == subscription.period_end + timedelta(days=14)
    assert frozen.next_attempt == frozen.period_end
    assert renewed(frozen).period_end == renewed(subscription).period_end + timedelta(days=14)
    assert frozen.state_at(start + timedelta(days=1)) is SubscriptionState.PAUSED
    assert frozen.state_at(start + timedelta(days=14)) is SubscriptionState.ACTIVE


def test_freezes_start_in_the_paid_period_and_last_at_most_ninety_days() -> None:
    subscription = started(datetime(2027, 1, 1, tzinfo=UTC))
    now = subscription.period_start
    with pytest.raises(InvalidArgument) as outside:
        pause(subscription, subscription.period_end, subscription.period_end + MAX_PAUSE, now)
    with pytest.raises(InvalidArgument) as too_long:
        pause(subscription, now, now + MAX_PAUSE + timedelta(days=1), now)
    frozen = pause(subscription, now, now + timedelta(days=7), now)
    with pytest.raises(FailedPrecondition):
        pause(frozen, now + timedelta(days=1), now + timedelta(days=2), now)
    assert [v.field for v in outside.value.violations] == ["start_time"]
    assert [v.field for v in too_long.value.violations] == ["end_time"]
