"""When instructors teach: weekly hours, dated exceptions, and whether a class fits."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument

AVAILABILITY_PARTS = ("weekly", "exceptions")  # What an update may replace, one or both.


@dataclass(frozen=True, order=True)
class Window:
    start: time
    end: time


@dataclass(frozen=True)
class Availability:
    weekly: dict[int, tuple[Window, ...]]  # ISO weekday (1 = Monday) → windows.
    exceptions: dict[date, tuple[Window, ...]]  # Date → that day's windows; () is leave.

    def with_parts_of(self, given: Availability, parts: Collection[str]) -> Availability:
        """This availability with the `parts` (of AVAILABILITY_PARTS) that `given` has."""
        return Availability(
            given.weekly if "weekly" in parts else self.weekly,
            given.exceptions if "exceptions" in parts else self.exceptions,
        )

    def windows_on(self, day: date) -> tuple[Window, ...]:
        if day in self.exceptions:
            return self.exceptions[day]
        return self.weekly.get(day.isoweekday(), ())


def _time(value: str, field: str, violations: list[FieldViolation]) -> time | None:
    try:
        return time.fromisoformat(value)
    except ValueError:
        violations.append(FieldViolation(field, "field.invalid_format"))
        return None


def _window(start: str, end: str, field: str, violations: list[FieldViolation]) -> Window | None:
    opens, closes = _time(start, f"{field}.start", violations), _time(
        end, f"{field}.end", violations
    )
    if opens is None or closes is None:
        return None
    if closes <= opens:
        violations.append(FieldViolation(f"{field}.end", "availability.end_before_start"))
        return None
    return Window(opens, closes)


def validate_availability(
    weekly: list[tuple[int, str, str]], exceptions: list[tuple[str, list[tuple[str, str]]]]
) -> Availability:
    """From the request's plain values; every problem reported at once, by field path."""
    violations: list[FieldViolation] = []
    by_day: dict[int, list[Window]] = {}
    for index, (day, start, end) in enumerate(weekly):
        field = f"availability.weekly[{index}]"
        if not 1 <= day <= 7:
            violations.append(
                FieldViolation(f"{field}.day_of_week", "field.out_of_range", {"min": 1, "max": 7})
            )
        window = _window(start, end, field, violations)
        if window is not None:
            by_day.setdefault(day, []).append(window)
    dated: dict[date, tuple[Window, ...]] = {}
    for index, (day_text, windows) in enumerate(exceptions):
        field = f"availability.exceptions[{index}]"
        try:
            exception_day = date.fromisoformat(day_text)
        except ValueError:
            violations.append(FieldViolation(f"{field}.date", "field.invalid_format"))
            continue
        parsed = [
            _window(s, e, f"{field}.windows[{i}]", violations) for i, (s, e) in enumerate(windows)
        ]
        dated[exception_day] = tuple(sorted(w for w in parsed if w is not None))
    if violations:
        raise InvalidArgument(violations)
    return Availability({day: tuple(sorted(ws)) for day, ws in by_day.items()}, dated)


def check_teaches(
    availability: Availability | None, time_zone: str, start: datetime, end: datetime
) -> None:
    """The class lies inside one of the instructor's windows that local day."""
    zone = ZoneInfo(time_zone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if availability is not None and local_start.date() == local_end.date():
        for window in availability.windows_on(local_start.date()):
            if window.start <= local_start.time() and local_end.time() <= window.end:
                return
    raise FailedPrecondition("INSTRUCTOR_UNAVAILABLE", "instructor.unavailable")
