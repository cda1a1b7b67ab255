"""Streaks of training days, each counted where the member trained."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from stride.activity.domain.streaks import Streak, extended, local_day, streak_from

MEMBER = uuid.uuid4()
RIYADH = "Asia/Riyadh"


def days(*values: str) -> list[date]:
    return sorted((date.fromisoformat(v) for v in values), reverse=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_days_in_a_row_make_the_streak_and_a_gap_starts_it_again() -> None:
    trained = days("2026-12-01", "2026-12-02", "2026-12-03", "2026-11-28")
    streak = streak_from(MEMBER, trained, None, RIYADH, at("2026-12-03T18:00"))
    assert (streak.days, streak.longest, streak.last_day) == (3, 3, date(2026, 12, 3))


def test_a_late_upload_filling_a_gap_joins_the_two_runs() -> None:
    before = streak_from(
        MEMBER, days("2026-12-01", "2026-12-03"), None, RIYADH, at("2026-12-03T18:00")
    )
    after = streak_from(
        MEMBER,
        days("2026-12-01", "2026-12-02", "2026-12-03"),
        before,
        RIYADH,
        at("2026-12-03T19:00"),
    )
    assert (before.days, after.days) == (1, 3)
    assert extended(before, after)
    assert not extended(None, before)  # One day is not a streak to tell about.


def test_a_streak_lapses_after_a_whole_day_missed_on_the_member_s_clock() -> None:
    streak = Streak(MEMBER, 4, 6, date(2026, 12, 3), RIYADH)
    # 20:30 UTC on 12-04 is 23:30 in Riyadh: the 4th is not over, the streak holds.
    assert not streak.lapsed(at("2026-12-04T20:30"))
    # 21:30 UTC is 00:30 on the 5th in Riyadh: the 4th went by without training.
    assert streak.lapsed(at("2026-12-04T21:30"))
    lapsed = streak_from(MEMBER, [date(2026, 12, 3)], streak, RIYADH, at("2026-12-05T09:00"))
    assert (lapsed.days, lapsed.longest) == (0, 6)


def test_a_late_night_session_counts_for_the_day_where_it_was_done() -> None:
    assert local_day(at("2026-12-03T21:30"), RIYADH) == date(2026, 12, 4)
    assert local_day(at("2026-12-03T21:30"), "America/New_York") == date(2026, 12, 3)
    assert local_day(at("2026-12-03T21:30") + timedelta(hours=3), "UTC") == date(2026, 12, 4)
