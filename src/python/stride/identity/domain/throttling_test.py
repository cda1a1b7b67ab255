from datetime import UTC, datetime, timedelta

from stride.identity.domain.throttling import FailureCount, account_key, address_key

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
