from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.platform.errors import InvalidArgument
from stride.scheduling.domain.recurrence import occurrences, parse_local_start

FAR = datetime(2028, 1, 1, tzinfo=UTC)


def test_a_weekly_class_keeps_its_local_time_across_dst() -> None:
    # London moves to summer time on 2026-03-29.
    starts = occurrences(
        "FREQ=WEEKLY;BYDAY=MO;COUNT=3", datetime(2026, 3, 23, 7, 0), "Europe/London", FAR
    )
    assert starts == [
        datetime(2026, 3, 23, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 6, 0, tzinfo=UTC),  # 07:00 BST
        datetime(2026, 4, 6, 6, 0, tzinfo=UTC),
    ]


def test_a_start_inside_the_spring_forward_gap_is_skipped() -> None:
    # New York skips 02:00–03:00 on 2026-03-08.
    starts = occurrences("FREQ=DAILY;COUNT=3", datetime(2026, 3, 7, 2, 30), "America/New_York", FAR)
    assert [s.astimezone(ZoneInfo("America/New_York")).day for s in starts] == [7, 9]


def test_occurrences_stop_at_the_horizon() -> None:
    until = datetime(2026, 12, 15, tzinfo=UTC)
    starts = occurrences("FREQ=DAILY", datetime(2026, 12, 1, 18, 0), "Asia/Riyadh", until)
    assert len(starts) == 14
    assert starts[-1] < until


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("FREQ=MINUTELY", "schedule.daily_or_weekly"),
        ("FREQ=WEEKLY;BYDAY=XX", "schedule.invalid_rule"),
        ("nonsense", "schedule.invalid_rule"),
    ],
)
def test_bad_rules_are_field_violations(rule: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        occurrences(rule, datetime(2026, 12, 1, 7, 0), "Asia/Riyadh", FAR)
    assert refused.value.violations[0].message_key == reason


def test_first_starts_are_civil_times() -> None:
    assert parse_local_start("2026-12-01T07:00") == datetime(2026, 12, 1, 7, 0)
    with pytest.raises(InvalidArgument):
        parse_local_start("2026-12-01T07:00+03:00")
    with pytest.raises(InvalidArgument):
        parse_local_start("next tuesday")


@given(
    zone=st.sampled_from(["Europe/London", "America/New_York", "Asia/Riyadh", "Australia/Sydney"]),
    first=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    weeks=st.integers(min_value=1, max_value=60),
)
def test_every_occurrence_is_at_the_same_wall_clock_time(
    zone: str, first: datetime, weeks: int
) -> None:
    first = first.replace(second=0, microsecond=0)
    starts = occurrences(
        f"FREQ=WEEKLY;COUNT={weeks}", first, zone, datetime(2031, 1, 1, tzinfo=UTC)
    )
    local = [s.astimezone(ZoneInfo(zone)) for s in starts]
    assert all(t.time() == first.time() for t in local)
    assert all(t.weekday() == first.weekday() for t in local)
    assert len(starts) >= weeks - 2  # Only a start in a spring-forward gap is skipped.
    assert all(b - a >= timedelta(days=7) - timedelta(hours=1) for a, b in pairwise(local))
