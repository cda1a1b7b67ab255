from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from stride.activity.domain.health import Aggregate, DeviceType, HealthKind, Rollup
from stride.activity.domain.trends import (
    SessionDone,
    TrendWindow,
    attendance_streak,
    edwards_load,
    local_figures,
    trend_window,
    trends,
)
from stride.platform.errors import InvalidArgument

# A Wednesday: its week started on Monday 2026-11-30.
TODAY = date(2026, 12, 2)
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def window_of(weeks: int) -> TrendWindow:
    return trend_window(NOW, weeks, "UTC")


def zones(*minutes: float) -> Aggregate:
    """Heart-rate figures with these minutes in zones 1, 2 and on (the rest none)."""
    seconds = [m * 60 for m in minutes] + [0.0] * (5 - len(minutes))
    return Aggregate(1, 120.0, 120.0, 120.0, tuple(seconds))


def reading(value: float, count: int = 1) -> Aggregate:
    return Aggregate(count, value * count, value, value)


def test_edwards_load_weights_minutes_by_zone() -> None:
    # 10 min in zone 1, 20 in zone 3, 5 in zone 5: 10 + 60 + 25.
    assert edwards_load([600, 0, 1200, 0, 300]) == pytest.approx(95)


def test_the_window_is_whole_weeks_ending_today_read_from_27_days_before() -> None:
    window = window_of(2)
    assert (window.first_day, window.days[-1]) == (date(2026, 11, 23), TODAY)
    assert len(window.days) == 10
    assert window.read_from == date(2026, 10, 27)
    assert window_of(0).first_day == date(2026, 11, 9)
    with pytest.raises(InvalidArgument) as refused:
        trend_window(NOW, 53, "Mars/Olympus")
    assert [v.field for v in refused.value.violations] == ["weeks", "time_zone"]


def test_today_and_the_days_instants_are_the_members() -> None:
    # 22:00 UTC on Sunday is already Monday in Dubai: a new week there.
    window = trend_window(datetime(2026, 11, 29, 22, tzinfo=UTC), 1, "Asia/Dubai")
    assert (window.first_day, window.today) == (date(2026, 11, 30), date(2026, 11, 30))
    assert window.instant(window.read_from) == datetime(2026, 11, 2, 20, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 30, 20, tzinfo=UTC)
    assert window.attendance_from == date(2024, 12, 9)


def test_acute_and_chronic_load_and_their_ratio() -> None:
    window = window_of(1)
    # 30 min in zone 2 (load 60) every day of the 28 ending today, 30 more in zone 4 today.
    figures = {(HealthKind.HEART_RATE, TODAY - n * DAY): zones(0, 30) for n in range(1, 28)}
    figures[(HealthKind.HEART_RATE, TODAY)] = zones(0, 30, 0, 30)
    found = trends(window, figures, [], set(), heart_rate_shown=True)
    today = found.days[-1]
    assert today.zone_minutes == (0, 30, 0, 30, 0)
    assert today.load == pytest.approx(180)
    assert today.acute_load == pytest.approx(6 * 60 + 180)
    assert today.chronic_load == pytest.approx((27 * 60 + 180) / 4)
    assert today.load_ratio == pytest.approx(540 / ((27 * 60 + 180) / 4))
    (week,) = found.weeks
    assert week.days == 3
    assert week.load == pytest.approx(60 + 60 + 180)


def test_no_chronic_load_no_ratio() -> None:
    found = trends(window_of(1), {}, [], set(), heart_rate_shown=True)
    assert [(d.load, d.chronic_load, d.load_ratio) for d in found.days] == [(0, 0, None)] * 3


def test_resting_heart_rate_is_never_invented_for_a_day_without_one() -> None:
    window = window_of(2)
    monday = window.first_day
    figures = {
        (HealthKind.RESTING_HEART_RATE, monday - 7 * DAY): reading(62),  # The week before.
        (HealthKind.RESTING_HEART_RATE, monday): reading(60, count=2),
        (HealthKind.RESTING_HEART_RATE, monday + 2 * DAY): reading(58),
        (HealthKind.RESTING_HEART_RATE, TODAY): reading(55),
    }
    found = trends(window, figures, [], set(), heart_rate_shown=True)
    by_day = {d.day: d for d in found.days}
    assert by_day[monday].resting_heart_rate == 60
    assert by_day[monday + DAY].resting_heart_rate is None
    assert by_day[monday + 2 * DAY].resting_heart_rate_7d_average == pytest.approx(59)
    first, second = found.weeks
    assert (first.resting_heart_rate, first.resting_heart_rate_change) == (59, -3)
    assert (second.resting_heart_rate, second.resting_heart_rate_change) == (55, -4)


def test_steps_per_day_average_and_week_over_week_change() -> None:
    window = window_of(1)
    figures = {(HealthKind.STEPS, TODAY - n * DAY): reading(8000) for n in range(3, 10)}
    figures[(HealthKind.STEPS, TODAY)] = reading(12000.4)
    figures[(HealthKind.STEPS, TODAY - DAY)] = reading(6000)
    found = trends(window, figures, [], set(), heart_rate_shown=False)
    monday, tuesday, wednesday = found.days
    assert (monday.steps, tuesday.steps, wednesday.steps) == (None, 6000, 12000)
    # The 7 days ending today: 12000, 6000, none, then four of 8000.
    assert wednesday.steps_7d_average == pytest.approx((12000 + 6000 + 4 * 8000) / 6)
    (week,) = found.weeks
    assert (week.steps, week.step_days, week.steps_daily_average) == (18000, 2, 9000)
    assert week.steps_change == pytest.approx(9000 / 8000 - 1)


def test_heart_rate_figures_are_withheld_without_consent() -> None:
    window = window_of(1)
    figures = {
        (HealthKind.HEART_RATE, TODAY): zones(10),
        (HealthKind.RESTING_HEART_RATE, TODAY): reading(50),
        (HealthKind.STEPS, TODAY): reading(100),
    }
    found = trends(window, figures, [], set(), heart_rate_shown=False)
    today = found.days[-1]
    assert found.heart_rate_withheld
    assert (today.zone_minutes, today.load, today.resting_heart_rate, today.steps) == (
        None,
        None,
        None,
        100,
    )
    assert (found.weeks[0].zone_minutes, found.weeks[0].load) == (None, None)


def test_classes_against_training_alone_per_week() -> None:
    window = window_of(2)
    sessions = [
        SessionDone(date(2026, 11, 20), True, True, 999),  # Before the window.
        SessionDone(date(2026, 11, 24), True, True, 1000),
        SessionDone(date(2026, 11, 26), False, True, 2500),
        SessionDone(date(2026, 11, 29), True, True, 500),
        SessionDone(date(2026, 12, 1), False, True, 300),
        # Checked in, never completed in the app: attended, but no session done.
        SessionDone(date(2026, 12, 2), True, False, 0),
        SessionDone(date(2026, 12, 2), False, False, 700),
    ]
    found = trends(window, {}, sessions, set(), heart_rate_shown=False)
    first, second = found.weeks
    assert (first.classes_attended, first.sessions, first.class_sessions) == (2, 3, 2)
    assert (first.class_volume_kg, first.own_volume_kg) == (1500, 2500)
    assert (second.classes_attended, second.sessions, second.class_sessions) == (1, 1, 0)
    assert (second.class_volume_kg, second.own_volume_kg) == (0, 300)
    assert found.class_share == pytest.approx(2 / 4)
    assert trends(window, {}, [], set(), heart_rate_shown=False).class_share is None


def test_attendance_streak_counts_weeks_in_a_row_and_waits_for_the_current_week() -> None:
    this_week = date(2026, 11, 30)
    weeks = {this_week - n * timedelta(weeks=1) for n in (1, 2, 3, 5)}
    assert attendance_streak(weeks, TODAY) == 3  # This week has no class yet: still running.
    assert attendance_streak(weeks | {this_week}, TODAY) == 4
    assert attendance_streak({this_week - timedelta(weeks=2)}, TODAY) == 0


def test_each_local_day_is_read_from_the_device_ranked_first_that_measured_it() -> None:
    window = trend_window(NOW, 1, "Asia/Dubai")
    # Local midnights in Dubai, as the repository hands the days over (20:00 UTC).
    monday = datetime(2026, 11, 29, 20, tzinfo=UTC)
    tuesday = monday + DAY
    rollups = [
        Rollup(HealthKind.STEPS, DeviceType.PHONE, monday, reading(900)),
        Rollup(HealthKind.STEPS, DeviceType.PHONE, tuesday, reading(700)),
        Rollup(HealthKind.STEPS, DeviceType.WATCH, tuesday, reading(1000)),
        Rollup(HealthKind.RESTING_HEART_RATE, DeviceType.RING, tuesday, reading(52)),
    ]
    picked = local_figures(window, rollups, (DeviceType.WATCH,))
    assert {key: figures.total for key, figures in picked.items()} == {
        (HealthKind.STEPS, date(2026, 11, 30)): 900,
        (HealthKind.STEPS, date(2026, 12, 1)): 1000,
        (HealthKind.RESTING_HEART_RATE, date(2026, 12, 1)): 52,
    }
    # The member's own order first.
    phone_first = local_figures(window, rollups, (DeviceType.PHONE,))
    assert phone_first[(HealthKind.STEPS, date(2026, 12, 1))].total == 700
