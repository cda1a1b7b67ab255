"""A member's trends over whole weeks of local days: heart-rate training load, resting heart
rate, steps, and classes attended against training on their own.

Load is Edwards' TRIMP: minutes in heart-rate zone n (1 to 5, `domain.heart_rate`) weighted n.
The acute load is the last 7 days' and the chronic load the last 28 days' per week (their sum
÷ 4, the "coupled" rolling form), so their ratio reads 1.0 for load kept steady: the figures
are computed from 27 days before the window on, and a day without readings is a day of no
load. A day without a resting heart rate or a step count has none: averages are over the days
that have one, never over invented values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stride.activity.domain.goals import week_of
from stride.activity.domain.health import (
    NO_ZONES,
    Aggregate,
    DeviceType,
    HealthKind,
    Rollup,
    pick_by_priority,
)
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.time_zones import is_time_zone

ACUTE_DAYS = 7
CHRONIC_DAYS = 28
DEFAULT_WEEKS = 4
MAX_WEEKS = 52
# How far back the weekly attendance streak is counted: two years of weeks in a row.
ATTENDANCE_LOOKBACK_WEEKS = 104
ONE_DAY = timedelta(days=1)
ONE_WEEK = timedelta(days=7)
# The kinds trends read, and those of them shown only with heart-rate consent.
STEP_KINDS = (HealthKind.STEPS,)
HEART_RATE_KINDS = (HealthKind.HEART_RATE, HealthKind.RESTING_HEART_RATE)


@dataclass(frozen=True)
class TrendWindow:
    """The days shown, from the first week's Monday to today in the member's time zone, and
    how far back the figures they are computed from reach."""

    first_day: date
    today: date
    time_zone: str

    @property
    def read_from(self) -> date:
        """The first day read: the chronic load of the window's first day looks 27 days back
        (which covers the week before the first, for its week-on-week changes)."""
        return self.first_day - (CHRONIC_DAYS - 1) * ONE_DAY

    @property
    def days(self) -> list[date]:
        return _days(self.first_day, self.today)

    @property
    def attendance_from(self) -> date:
        """The Monday of the oldest week the attendance streak is counted from."""
        return week_of(self.today) - (ATTENDANCE_LOOKBACK_WEEKS - 1) * ONE_WEEK

    def instant(self, day: date) -> datetime:
        """When `day` starts in the member's time zone."""
        return datetime.combine(day, time(), tzinfo=ZoneInfo(self.time_zone))

    @property
    def end(self) -> datetime:
        """When today ends."""
        return self.instant(self.today + ONE_DAY)


def trend_window(now: datetime, weeks: int, time_zone: str) -> TrendWindow:
    """`weeks` weeks (Monday to Sunday) ending with the one holding today in `time_zone`
    (UTC when empty); DEFAULT_WEEKS for 0."""
    violations = []
    if not 0 <= weeks <= MAX_WEEKS:
        violations.append(FieldViolation("weeks", "activity_trends.too_many_weeks"))
    name = time_zone or "UTC"
    if not is_time_zone(name):
        violations.append(FieldViolation("time_zone", "field.invalid_time_zone"))
    if violations:
        raise InvalidArgument(violations)
    zone = ZoneInfo(name)
    today = now.astimezone(zone).date()
    count = weeks or DEFAULT_WEEKS
    return TrendWindow(week_of(today) - (count - 1) * ONE_WEEK, today, zone.key)


def local_figures(
    window: TrendWindow, rollups: Sequence[Rollup], priority: Sequence[DeviceType]
) -> dict[tuple[HealthKind, date], Aggregate]:
    """Per kind and local day, the figures of the device kind the member ranks first among
    those that measured the day (as a day rollup is read: one device's day, never a sum of
    a watch's and a phone's)."""
    zone = ZoneInfo(window.time_zone)
    picked: dict[tuple[HealthKind, date], Aggregate] = {}
    for kind in {rollup.kind for rollup in rollups}:
        of_kind = [rollup for rollup in rollups if rollup.kind is kind]
        for rollup in pick_by_priority(of_kind, priority):
            picked[(kind, rollup.start_time.astimezone(zone).date())] = rollup.figures
    return picked


def edwards_load(zone_seconds: Sequence[float]) -> float:
    """Minutes in zone n weighted n, summed (Edwards' TRIMP)."""
    return sum(seconds / 60 * zone for zone, seconds in enumerate(zone_seconds, start=1))


@dataclass(frozen=True)
class SessionDone:
    """A session, on the member's local day it started. One from a class is an attendance
    whether or not the member completed it in the app (checking in prepared it)."""

    day: date
    in_class: bool
    completed: bool
    volume_kg: float


@dataclass(frozen=True)
class DayTrend:
    day: date
    zone_minutes: tuple[float, ...] | None  # None: heart rate withheld (so all load figures).
    load: float | None
    acute_load: float | None
    chronic_load: float | None
    load_ratio: float | None  # None also while the chronic load is 0.
    resting_heart_rate: float | None  # None also when none was measured.
    resting_heart_rate_7d_average: float | None
    steps: int | None  # None: no device counted steps that day.
    steps_7d_average: float | None


@dataclass(frozen=True)
class WeekTrend:
    week_start: date
    days: int
    zone_minutes: tuple[float, ...] | None
    load: float | None
    resting_heart_rate: float | None
    resting_heart_rate_change: float | None
    steps: int
    step_days: int
    steps_daily_average: float | None
    steps_change: float | None  # A share: 0.1 is 10 % more steps per counted day.
    classes_attended: int
    sessions: int  # Completed, as are the class sessions and volumes that follow.
    class_sessions: int
    class_volume_kg: float
    own_volume_kg: float


@dataclass(frozen=True)
class Trends:
    days: list[DayTrend]
    weeks: list[WeekTrend]
    heart_rate_withheld: bool
    class_share: float | None
    attendance_streak_weeks: int


def trends(
    window: TrendWindow,
    figures: Mapping[tuple[HealthKind, date], Aggregate],
    sessions: Sequence[SessionDone],
    class_weeks: Collection[date],
    *,
    heart_rate_shown: bool,
) -> Trends:
    """The trends of the window from each local day's figures per kind (from
    `window.read_from` on), its sessions, and the Mondays of the weeks with a class attended
    (as far back as the attendance streak may reach)."""
    every_day = _days(window.read_from, window.today)
    daily = {day: _day_figures(day, figures, heart_rate_shown) for day in every_day}
    days = [_day_trend(day, daily, heart_rate_shown) for day in window.days]
    weeks_shown = _weeks(window.first_day, window.today)
    week_figures = {
        week: _week_figures(week, window, daily, sessions, heart_rate_shown)
        for week in [weeks_shown[0] - ONE_WEEK, *weeks_shown]
    }
    weeks = [_week_trend(week_figures[week], week_figures[week - ONE_WEEK]) for week in weeks_shown]
    shown_sessions = [
        s for s in sessions if s.completed and window.first_day <= s.day <= window.today
    ]
    in_classes = sum(1 for s in shown_sessions if s.in_class)
    return Trends(
        days,
        weeks,
        not heart_rate_shown,
        in_classes / len(shown_sessions) if shown_sessions else None,
        attendance_streak(class_weeks, window.today),
    )


def attendance_streak(class_weeks: Collection[date], today: date) -> int:
    """Weeks in a row with a class, ending with today's week if it had one, else with the week
    before (a week under way has not broken the run)."""
    week = week_of(today)
    if week not in class_weeks:
        week -= ONE_WEEK
    length = 0
    while week in class_weeks:
        length += 1
        week -= ONE_WEEK
    return length


@dataclass(frozen=True)
class _DayFigures:
    zone_seconds: tuple[float, ...]
    load: float  # Computed once: a day is in 28 days' chronic loads.
    resting_heart_rate: float | None
    steps: int | None


def _day_figures(
    day: date, figures: Mapping[tuple[HealthKind, date], Aggregate], heart_rate_shown: bool
) -> _DayFigures:
    heart = figures.get((HealthKind.HEART_RATE, day)) if heart_rate_shown else None
    resting = figures.get((HealthKind.RESTING_HEART_RATE, day)) if heart_rate_shown else None
    steps = figures.get((HealthKind.STEPS, day))
    zone_seconds = heart.zone_seconds if heart else NO_ZONES
    return _DayFigures(
        zone_seconds,
        edwards_load(zone_seconds),
        resting.average if resting and resting.count else None,
        round(steps.total) if steps and steps.count else None,
    )


def _day_trend(day: date, daily: Mapping[date, _DayFigures], heart_rate_shown: bool) -> DayTrend:
    figures = daily[day]
    week_before = [daily[day - n * ONE_DAY] for n in range(ACUTE_DAYS)]
    steps_7d = _average([f.steps for f in week_before if f.steps is not None])
    if not heart_rate_shown:
        return DayTrend(day, None, None, None, None, None, None, None, figures.steps, steps_7d)
    acute = sum(f.load for f in week_before)
    chronic = sum(daily[day - n * ONE_DAY].load for n in range(CHRONIC_DAYS)) / (
        CHRONIC_DAYS / ACUTE_DAYS
    )
    return DayTrend(
        day,
        tuple(seconds / 60 for seconds in figures.zone_seconds),
        figures.load,
        acute,
        chronic,
        acute / chronic if chronic > 0 else None,
        figures.resting_heart_rate,
        _average([f.resting_heart_rate for f in week_before if f.resting_heart_rate is not None]),
        figures.steps,
        steps_7d,
    )


@dataclass(frozen=True)
class _WeekFigures:
    week_start: date
    days: list[_DayFigures]
    sessions: list[SessionDone]
    heart_rate_shown: bool


def _week_figures(
    week: date,
    window: TrendWindow,
    daily: Mapping[date, _DayFigures],
    sessions: Sequence[SessionDone],
    heart_rate_shown: bool,
) -> _WeekFigures:
    days = [daily[day] for day in _days(week, min(week + 6 * ONE_DAY, window.today))]
    done = [s for s in sessions if week <= s.day < week + ONE_WEEK]
    return _WeekFigures(week, days, done, heart_rate_shown)


def _week_trend(week: _WeekFigures, before: _WeekFigures) -> WeekTrend:
    zones = tuple(sum(part) for part in zip(*(d.zone_seconds for d in week.days), strict=True))
    resting = _resting(week)
    resting_before = _resting(before)
    steps = [d.steps for d in week.days if d.steps is not None]
    steps_average = _average(steps)
    steps_before = _average([d.steps for d in before.days if d.steps is not None])
    completed = [s for s in week.sessions if s.completed]
    volumes: dict[bool, float] = defaultdict(float)
    for session in completed:
        volumes[session.in_class] += session.volume_kg
    shown = week.heart_rate_shown
    return WeekTrend(
        week.week_start,
        len(week.days),
        tuple(seconds / 60 for seconds in zones) if shown else None,
        edwards_load(zones) if shown else None,
        resting,
        resting - resting_before if resting is not None and resting_before is not None else None,
        sum(steps),
        len(steps),
        steps_average,
        steps_average / steps_before - 1
        if steps_average is not None and steps_before  # Neither none nor 0.
        else None,
        sum(1 for s in week.sessions if s.in_class),
        len(completed),
        sum(1 for s in completed if s.in_class),
        volumes[True],
        volumes[False],
    )


def _resting(week: _WeekFigures) -> float | None:
    return _average([d.resting_heart_rate for d in week.days if d.resting_heart_rate is not None])


def _average(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _days(first: date, last: date) -> list[date]:
    return [first + n * ONE_DAY for n in range((last - first).days + 1)]


def _weeks(first: date, last: date) -> list[date]:
    return [first + n * ONE_WEEK for n in range((last - first).days // 7 + 1)]
