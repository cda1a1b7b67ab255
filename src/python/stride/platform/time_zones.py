"""Time zone names, checked one way in every service: a name must be one of the IANA database's
zones. Python's zoneinfo opens more than those — `localtime`, `posixrules`, the `posix/` and
`right/` trees — which PostgreSQL does not know (a read that hands such a name to
`AT TIME ZONE` fails) and no member's phone sends, so a name is checked against the list,
not by whether a file of that name opens."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

# Files among the zones on some systems that are not places: the host's own setting, the
# template for POSIX rules, and "Factory" (a zone named "-00").
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


def is_time_zone(name: str) -> bool:
    return name in _time_zones()


@cache
def _time_zones() -> frozenset[str]:
    """Read once, on first use: listing them walks the time zone database's files."""
    return frozenset(available_timezones() - _NOT_PLACES)
