"""Recurring classes: RFC 5545 recurrence rules expanded in the studio's wall-clock time.

A 07:00 class stays at 07:00 local when daylight saving time starts or ends (its UTC time
moves). A start that does not exist locally (inside a spring-forward gap) is skipped rather
than silently moved; an ambiguous one (the repeated fall-back hour) is the first of the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, WEEKLY, rrulestr

from stride.platform.errors import FieldViolation, InvalidArgument

MAX_OCCURRENCES = 400
_ALLOWED_FREQUENCIES = (DAILY, WEEKLY)


def _invalid(field: str, key: str) -> InvalidArgument:
    return InvalidArgument([FieldViolation(field, key)])


def parse_local_start(value: str) -> datetime:
    """`2026-12-01T07:00` (the studio's civil time, no offset)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid("schedule.first_start", "field.invalid_format") from None
    if parsed.tzinfo is not None:
        raise _invalid("schedule.first_start", "schedule.local_time_only")
    return parsed


def occurrences(
    recurrence: str, first_local: datetime, time_zone: str, until: datetime
) -> list[datetime]:
    """UTC start times from `first_local` (studio civil time) until `until` (UTC)."""
    try:
        rule = rrulestr(recurrence, dtstart=first_local)
    except (ValueError, TypeError):
        raise _invalid("schedule.recurrence", "schedule.invalid_rule") from None
    if getattr(rule, "_freq", None) not in _ALLOWED_FREQUENCIES:
        raise _invalid("schedule.recurrence", "schedule.daily_or_weekly")
    zone = ZoneInfo(time_zone)
    starts = []
    for local in _bounded(rule):
        start = _to_utc(local, zone)
        if start is None:
            continue
        if start >= until:
            break
        starts.append(start)
    return starts


def _bounded(rule: Iterable[datetime]) -> Iterator[datetime]:
    for count, local in enumerate(rule):
        if count >= MAX_OCCURRENCES:
            return
        yield local


def _to_utc(local: datetime, zone: ZoneInfo) -> datetime | None:
    aware = local.replace(tzinfo=zone, fold=0)
    start = aware.astimezone(UTC)
    if start.astimezone(zone).replace(tzinfo=None) != local:
        return None  # In a spring-forward gap: this wall-clock time never happens.
    return start
