"""iCalendar (RFC 5545) feeds of a member's booked classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PRODUCT_ID = "-//Stride//Bookings//EN"


@dataclass(frozen=True)
class CalendarEntry:
    uid: str  # Stable across exports, so calendars update events instead of duplicating them.
    summary: str
    location: str
    start: datetime
    end: datetime
    cancelled: bool = False


def _text(value: str) -> str:
    """RFC 5545 §3.3.11 escaping."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> list[str]:
    """Lines longer than 75 octets continue on lines starting with a space (§3.1)."""
    encoded, parts = line.encode(), list[str]()
    while len(encoded) > 75:
        cut = 75 if not parts else 74
        while cut > 0 and (encoded[cut] & 0xC0) == 0x80:  # Never split a UTF-8 character.
            cut -= 1
        parts.append(encoded[:cut].decode())
        encoded = encoded[cut:]
    parts.append(encoded.decode())
    return [parts[0], *(f" {part}" for part in parts[1:])]


def render_calendar(entries: Sequence[CalendarEntry], stamp: datetime) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODUCT_ID}", "CALSCALE:GREGORIAN"]
    for entry in entries:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{entry.uid}",
            f"DTSTAMP:{_utc(stamp)}",
            f"DTSTART:{_utc(entry.start)}",
            f"DTEND:{_utc(entry.end)}",
            f"SUMMARY:{_text(entry.summary)}",
            f"LOCATION:{_text(entry.location)}",
            f"STATUS:{'CANCELLED' if entry.cancelled else 'CONFIRMED'}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(f"{folded}\r\n" for line in lines for folded in _fold(line))
