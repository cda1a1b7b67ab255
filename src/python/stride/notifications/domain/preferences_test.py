import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.notifications.domain.limits import SendLimits
from stride.notifications.domain.preferences import (
    Preferences,
    local_day,
    next_allowed,
    validate_preferences,
)
from stride.platform.errors import InvalidArgument

RIYADH = ZoneInfo("Asia/Riyadh")
NIGHT = Preferences(uuid.uuid4(), "Asia/Riyadh", time(22), time(7))


def test_a_message_in_the_quiet_night_waits_for_the_morning_in_the_user_s_zone() -> None:
    late = datetime(2027, 3, 1, 23, 30, tzinfo=RIYADH)
    early = datetime(2027, 3, 2, 6, 59, tzinfo=RIYADH)
    morning = datetime(2027, 3, 2, 7, 0, tzinfo=RIYADH)
    assert next_allowed(NIGHT, late) == morning
    assert next_allowed(NIGHT, early) == morning
    assert next_allowed(NIGHT, morning) == morning
    noon = datetime(2027, 3, 2, 12, tzinfo=RIYADH)
    assert next_allowed(NIGHT, noon) == noon


def test_quiet_hours_follow_daylight_saving_time() -> None:
    berlin = Preferences(uuid.uuid4(), "Europe/Berlin", time(22), time(7))
    # The night clocks go forward (31 March 2024): 07:00 is then UTC+2.
    night = datetime(2024, 3, 30, 23, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert next_allowed(berlin, night) == datetime(2024, 3, 31, 5, 0, tzinfo=UTC)


@given(
    moment=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1)),
    zone=st.sampled_from(["UTC", "Asia/Riyadh", "Europe/Berlin", "America/New_York"]),
    start=st.integers(0, 23 * 60 + 59),
    length=st.integers(1, 23 * 60),
)
def test_the_next_allowed_minute_is_never_earlier_nor_inside_the_quiet_hours(
    moment: datetime, zone: str, start: int, length: int
) -> None:
    end = (start + length) % (24 * 60)
    quiet = Preferences(
        uuid.uuid4(), zone, time(start // 60, start % 60), time(end // 60, end % 60)
    )
    at = moment.replace(tzinfo=UTC)
    allowed = next_allowed(quiet, at)
    assert allowed >= at
    assert allowed - at <= timedelta(hours=25)
    if allowed != at:  # Deferred: to the quiet hours' end, on the user's wall clock.
        local = allowed.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) >= (end // 60, end % 60)


def test_preferences_name_a_whole_window_and_keep_identity_s_zone() -> None:
    current = Preferences(uuid.uuid4(), "Asia/Riyadh")
    chosen = validate_preferences(current, "22:00", "07:00", True, False, limits=SendLimits())
    assert (chosen.quiet_end, chosen.time_zone) == (time(7), "Asia/Riyadh")
    with pytest.raises(InvalidArgument) as refused:
        validate_preferences(current, "22:00", "", False, False, "0501234567", limits=SendLimits())
    assert [v.field for v in refused.value.violations] == [
        "preferences.phone_number",  # Not E.164: no country code.
        "preferences.quiet_hours_start",
    ]
    texted = validate_preferences(
        current, "", "", False, False, "+966501234567", limits=SendLimits()
    )
    assert texted.phone_number == "+966501234567"


def test_a_user_s_day_is_their_calendar_day_even_when_the_clocks_change() -> None:
    berlin = Preferences(uuid.uuid4(), "Europe/Berlin")
    start, end = local_day(berlin, datetime(2024, 3, 31, 12, tzinfo=UTC))
    assert (start, end) == (
        datetime(2024, 3, 30, 23, tzinfo=UTC),
        datetime(2024, 3, 31, 22, tzinfo=UTC),  # 23 hours: the clocks went forward.
    )
