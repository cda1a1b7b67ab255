import uuid
from datetime import UTC, datetime, timedelta

import pytest

from stride.platform.errors import FailedPrecondition, InvalidArgument
from stride.scheduling.domain.check_in import issue_code, read_code

KEY = b"k" * 32
NOW = datetime(2026, 12, 1, 17, 30, 10, tzinfo=UTC)


def test_a_fresh_code_names_its_booking() -> None:
    booking = uuid.uuid4()
    code, expires = issue_code(KEY, booking, NOW)
    assert read_code(KEY, code, NOW) == booking
    assert read_code(KEY, code, NOW + timedelta(seconds=60)) == booking
    assert expires == datetime(2026, 12, 1, 17, 32, tzinfo=UTC)


def test_yesterdays_screenshot_is_refused() -> None:
    code, _ = issue_code(KEY, uuid.uuid4(), NOW - timedelta(days=1))
    with pytest.raises(FailedPrecondition, match="CHECK_IN_CODE_EXPIRED"):
        read_code(KEY, code, NOW)


@pytest.mark.parametrize("forge", ["", "not base64 !!", "AAAA"])
def test_garbage_is_refused(forge: str) -> None:
    with pytest.raises(InvalidArgument):
        read_code(KEY, forge, NOW)


def test_a_code_signed_with_another_key_or_altered_is_refused() -> None:
    code, _ = issue_code(b"x" * 32, uuid.uuid4(), NOW)
    with pytest.raises(InvalidArgument):
        read_code(KEY, code, NOW)
    genuine, _ = issue_code(KEY, uuid.uuid4(), NOW)
    altered = ("B" if genuine[0] != "B" else "C") + genuine[1:]
    with pytest.raises(InvalidArgument):
        read_code(KEY, altered, NOW)
