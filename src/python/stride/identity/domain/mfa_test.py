import uuid
from datetime import UTC, datetime, timedelta

from stride.identity.domain.mfa import (
    REAUTHENTICATION_WINDOW,
    RESET_REMOVES_FACTORS_NEWER_THAN,
    TotpFactor,
    recently_signed_in,
)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def factor_confirmed(at: datetime | None) -> TotpFactor:
    return TotpFactor(uuid.uuid4(), "JBSWY3DPEHPK3PXP", at, 0)


def test_a_reset_removes_a_factor_confirmed_lately_and_keeps_an_older_one() -> None:
    lately = NOW - RESET_REMOVES_FACTORS_NEWER_THAN + timedelta(minutes=1)
    long_ago = NOW - RESET_REMOVES_FACTORS_NEWER_THAN
    assert factor_confirmed(lately).removed_by_password_reset(NOW)
    assert factor_confirmed(None).removed_by_password_reset(NOW)  # Never confirmed.
    assert not factor_confirmed(long_ago).removed_by_password_reset(NOW)


def test_a_sign_in_is_recent_within_the_window() -> None:
    assert recently_signed_in(NOW - REAUTHENTICATION_WINDOW, NOW)
    assert not recently_signed_in(NOW - REAUTHENTICATION_WINDOW - timedelta(seconds=1), NOW)
