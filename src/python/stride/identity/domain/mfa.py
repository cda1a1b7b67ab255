"""Second factor rules: TOTP (RFC 6238, 30-second steps) and single-use recovery codes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

TOTP_DIGITS = 6
RECOVERY_CODE_COUNT = 10
ISSUER_NAME = "Stride"
# Changing the second factor takes the password, or a sign-in this recent: a stolen access
# token (valid 10 minutes) from an older session cannot plant a factor of its own.
REAUTHENTICATION_WINDOW = timedelta(minutes=5)
# A factor confirmed this recently goes with a completed password reset: one planted by
# someone else keeps the owner out no longer than it takes them to reset. An older one stays,
# so control of the mailbox alone does not remove the member's own.
RESET_REMOVES_FACTORS_NEWER_THAN = timedelta(days=7)


@dataclass(frozen=True)
class TotpFactor:
    user_id: uuid.UUID
    secret: str  # base32, opened from its sealed form only in memory.
    confirmed_at: datetime | None
    last_used_step: int

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None

    def removed_by_password_reset(self, now: datetime) -> bool:
        return (
            self.confirmed_at is None or now - self.confirmed_at < RESET_REMOVES_FACTORS_NEWER_THAN
        )


def recently_signed_in(signed_in_at: datetime, now: datetime) -> bool:
    return now - signed_in_at <= REAUTHENTICATION_WINDOW


def is_totp_code(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isdigit()


def normalize_recovery_code(code: str) -> str:
    """Users type recovery codes with spaces, dashes or lower case; the stored form has none."""
    return "".join(ch for ch in code.upper() if ch.isalnum())
