import uuid
from datetime import UTC, datetime, timedelta

from stride.identity.domain.throttling import (
    FIRST_DELAY,
    MAX_DELAY,
    FailureCount,
    account_key,
    address_key,
    device_key,
    forgiven_on_success,
    retry_after,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_free_attempts_then_doubling_waits() -> None:
    key = account_key("a@b.co")
    assert FailureCount(key, 4, NOW).locked_until(NOW) is None
    assert FailureCount(key, 5, NOW).locked_until(NOW) == NOW + timedelta(seconds=1)
    assert FailureCount(key, 7, NOW).locked_until(NOW) == NOW + timedelta(seconds=4)
    assert FailureCount(key, 50, NOW).locked_until(NOW) == NOW + timedelta(minutes=15)


def test_addresses_get_more_free_attempts_than_accounts() -> None:
    assert FailureCount(address_key("10.0.0.1"), 19, NOW).locked_until(NOW) is None
    assert FailureCount(address_key("10.0.0.1"), 20, NOW).locked_until(NOW) is not None


def test_a_quiet_hour_forgets_the_failures() -> None:
    count = FailureCount(account_key("a@b.co"), 9, NOW)
    later = NOW + timedelta(hours=1, seconds=1)
    assert count.current(later) == 0
    assert count.locked_until(later) is None


def test_an_accounts_wait_is_reported_as_the_cap_whatever_its_count() -> None:
    once = FailureCount(account_key("a@b.co"), 5, NOW)
    often = FailureCount(account_key("a@b.co"), 9, NOW)
    assert retry_after([once], NOW) == retry_after([often], NOW) == MAX_DELAY
    assert retry_after([FailureCount(account_key("a@b.co"), 4, NOW)], NOW) is None


def test_the_callers_own_keys_report_their_real_wait() -> None:
    key = device_key(uuid.UUID(int=1), uuid.UUID(int=2))
    assert retry_after([FailureCount(key, 6, NOW)], NOW) == timedelta(seconds=2)
    assert retry_after([FailureCount(address_key("10.0.0.1"), 20, NOW)], NOW) == FIRST_DELAY


def test_a_success_clears_an_account_and_a_device_but_only_undoes_an_address() -> None:
    assert forgiven_on_success(account_key("a@b.co")) == "clear"
    assert forgiven_on_success(device_key(uuid.UUID(int=1), uuid.UUID(int=2))) == "clear"
    assert forgiven_on_success(address_key("10.0.0.1")) == "undo"
