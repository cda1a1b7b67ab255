"""How and when a user wants to be told things, as pure rules.

Transactional messages always go at once. Marketing ones go only on channels the user opted
into, at most MARKETING_PUSHES_PER_DAY a day, and never in their quiet hours: they wait for
the first minute after, in the user's own time zone (so a window of 22:00–07:00 follows them
across daylight-saving changes).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stride.notifications.domain.limits import SendLimits
from stride.platform.errors import FieldViolation, InvalidArgument

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # ITU-T E.164: a country code and up to 15 digits.
MARKETING_PUSHES_PER_DAY = 3  # On the user's calendar day; the rest reach the inbox only.
DEFAULT_TIME_ZONE = "UTC"  # Until Identity tells the user's.


class Category(enum.Enum):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"
    # The member's own progress (a personal record, a streak): pushed without asking, as it is
    # theirs, but never texted and never inside their quiet hours.
    ACHIEVEMENT = "achievement"


@dataclass(frozen=True)
class Preferences:
    user_id: uuid.UUID
    # The user's zone as Identity, its one source, last told it; the member changes it in
    # their profile, not here.
    time_zone: str = DEFAULT_TIME_ZONE
    quiet_start: time | None = None
    quiet_end: time | None = None
    marketing_push: bool = False
    marketing_email: bool = False
    # Where transactional messages are also texted (E.164); empty: no text messages.
    phone_number: str = ""
    # The number the member last proved theirs with a one-time code: texts go to
    # `phone_number` only while it is this one.
    verified_phone_number: str = ""

    @property
    def phone_verified(self) -> bool:
        return bool(self.phone_number) and self.phone_number == self.verified_phone_number

    @property
    def resource_name(self) -> str:
        return f"users/{self.user_id}/notificationPreferences"


def validate_preferences(
    current: Preferences,
    quiet_start: str,
    quiet_end: str,
    marketing_push: bool,
    marketing_email: bool,
    phone_number: str = "",
    *,
    limits: SendLimits,
) -> Preferences:
    """The member's choices, in place of `current`'s (whose time zone stays Identity's). A new
    number is taken only where Stride texts, and texted once verified (one refused since it was
    saved stays, untexted, rather than block every other change)."""
    violations = []
    if phone_number and not _E164.match(phone_number):
        violations.append(FieldViolation("preferences.phone_number", "preferences.phone_number"))
    elif (
        phone_number != current.phone_number and phone_number and not limits.textable(phone_number)
    ):
        violations.append(
            FieldViolation("preferences.phone_number", "preferences.phone_not_textable")
        )
    start, end = _clock_time(quiet_start), _clock_time(quiet_end)
    window_given = bool(quiet_start or quiet_end)
    if window_given and (start is None or end is None or start == end):
        violations.append(
            FieldViolation("preferences.quiet_hours_start", "preferences.quiet_hours")
        )
    if violations:
        raise InvalidArgument(violations)
    return replace(
        current,
        quiet_start=start,
        quiet_end=end,
        marketing_push=marketing_push,
        marketing_email=marketing_email,
        phone_number=phone_number,
    )


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone, such as Asia/Riyadh."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _clock_time(text: str) -> time | None:
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        return None
    return parsed if len(text) == 5 else None  # Exactly HH:MM.


def next_allowed(preferences: Preferences, moment: datetime) -> datetime:
    """`moment` if it is outside the user's quiet hours, else the minute they end."""
    start, end = preferences.quiet_start, preferences.quiet_end
    if start is None or end is None:
        return moment
    zone = ZoneInfo(preferences.time_zone)
    local = moment.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    spans_midnight = end < start
    quiet = (now >= start or now < end) if spans_midnight else (start <= now < end)
    if not quiet:
        return moment
    ends_tomorrow = spans_midnight and now >= start
    day = local.date() + timedelta(days=1 if ends_tomorrow else 0)
    # A wall time skipped by a daylight-saving jump resolves to the instant just after it.
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def local_day(preferences: Preferences, moment: datetime) -> tuple[datetime, datetime]:
    """The user's calendar day around `moment`, as an interval of instants."""
    zone = ZoneInfo(preferences.time_zone)
    day = moment.astimezone(zone).date()
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


CAP_LOOKBACK = timedelta(days=2)  # Covers the calendar day of every zone (UTC−12 to UTC+14).


def under_daily_cap(preferences: Preferences, sent: Sequence[datetime], now: datetime) -> bool:
    """Whether another marketing push may go today, given when the last ones (at least since
    `now - CAP_LOOKBACK`) went."""
    if len(sent) < MARKETING_PUSHES_PER_DAY:  # Fewer in the lookback: under the cap any day.
        return True
    start, end = local_day(preferences, now)
    return sum(start <= moment < end for moment in sent) < MARKETING_PUSHES_PER_DAY
