"""Streaks: days in a row with a completed session, each session's day read in the time zone it
was done in, so a member who trains at 23:30 counts that day wherever they are.

A streak is computed from the days trained rather than stepped from the last one, so a session
uploaded late (logged offline yesterday, uploaded after today's) fills its day and the streak
is right either way."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)
# Streaks of one day are not news: extending and breaking are told from two days on.
TOLD_FROM_DAYS = 2


@dataclass(frozen=True)
class Streak:
    member_id: uuid.UUID
    days: int  # 0 once a whole day went by without training.
    longest: int
    last_day: date
    time_zone: str  # Of the last session: whose "today" the streak lapses by.

    def lapsed(self, now: datetime) -> bool:
        """Whether a whole day went by, on the member's clock, since the last day trained."""
        today = now.astimezone(ZoneInfo(self.time_zone)).date()
        return self.days > 0 and self.last_day < today - ONE_DAY


def local_day(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


def streak_from(
    member_id: uuid.UUID,
    days_trained: Sequence[date],
    previous: Streak | None,
    time_zone: str,
    now: datetime,
) -> Streak:
    """The streak ending on the latest of `days_trained` (newest first, distinct), or 0 days if
    that day is already past."""
    latest = days_trained[0]
    length = 1
    for earlier, later in zip(days_trained[1:], days_trained, strict=False):
        if later - earlier != ONE_DAY:
            break
        length += 1
    longest = max(length, previous.longest if previous else 0)
    streak = Streak(member_id, length, longest, latest, time_zone)
    return Streak(member_id, 0, longest, latest, time_zone) if streak.lapsed(now) else streak


def extended(previous: Streak | None, current: Streak) -> bool:
    return current.days >= TOLD_FROM_DAYS and current.days > (previous.days if previous else 0)
