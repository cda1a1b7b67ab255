"""Time zone names, checked one way in every service: a name must be one of the IANA database's
zones. Python's zoneinfo opens more than those — `localtime`, `posixrules`, the `posix/` and
`right/` trees — which PostgreSQL does not know (a read that hands such a name to
`AT TIME ZONE` fails) and no member's phone sends, so a name is checked against the list,
not by whether a file of that name opens."""

from __future__ import annotations

from zoneinfo import available_timezones

# Files among the zones on some systems that are not places: the host's own setting, the
# template for POSIX rules, and "Factory" (a zone named "-00").
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})
IANA_TIME_ZONES = frozenset(available_timezones() - _NOT_PLACES)


def is_time_zone(name: str) -> bool:
    return name in IANA_TIME_ZONES
