import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from stride.notifications.domain.limits import (
    PHONE_CODE_ATTEMPTS,
    PHONE_CODE_LIFETIME,
    SendLimits,
    code_matches,
    code_usable,
    new_phone_code,
)


@pytest.mark.parametrize(
    ("number", "textable"),
    [
        ("+966501234567", True),
        ("+971501234567", True),
        ("+12025550123", True),
        ("+19005550123", False),  # Premium rate inside a served country.
        ("+447000123456", False),
        ("+252611234567", False),  # Not a served country.
        ("+2125550123", False),  # Morocco: "+2" is not Egypt's "+20".
    ],
)
def test_texts_go_to_served_countries_and_never_to_premium_ranges(
    number: str, textable: bool
) -> None:
    assert SendLimits().textable(number) is textable


def test_a_phone_code_is_bound_to_its_number_and_spent_by_time_or_guesses() -> None:
    now, user = datetime(2027, 1, 1, tzinfo=UTC), uuid.uuid4()
    phone_code, code = new_phone_code(user, "+966501234567", now)
    assert code.isdigit()
    assert len(code) == 6
    assert code_matches(phone_code, code)
    assert not code_matches(replace(phone_code, phone_number="+966501234568"), code)
    assert code_usable(phone_code, now + PHONE_CODE_LIFETIME - timedelta(seconds=1))
    assert not code_usable(phone_code, now + PHONE_CODE_LIFETIME)
    assert code_usable(replace(phone_code, attempts=PHONE_CODE_ATTEMPTS), now)
    assert not code_usable(replace(phone_code, attempts=PHONE_CODE_ATTEMPTS + 1), now)
