import pytest

from stride.platform.time_zones import is_time_zone


@pytest.mark.parametrize("name", ["Asia/Riyadh", "Europe/London", "America/St_Johns", "UTC"])
def test_places_are_time_zones(name: str) -> None:
    assert is_time_zone(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Mars/Olympus",
        "asia/riyadh",  # Names are matched exactly, as PostgreSQL matches them on Linux.
        "../../etc/passwd",
        # Files zoneinfo opens that PostgreSQL does not know as zones.
        "localtime",
        "posixrules",
        "right/UTC",
        "posix/Europe/London",
    ],
)
def test_what_is_not_a_place_is_not_a_time_zone(name: str) -> None:
    assert not is_time_zone(name)
