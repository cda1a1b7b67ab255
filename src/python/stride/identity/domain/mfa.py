"""Second factor rules: TOTP (RFC 6238, 30-second steps) and single-use recovery codes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

TOTP_DIGITS = 6
RECOVERY_CODE_COUNT = 10
ISSUER_NAME = "Stride"


@dataclass(frozen=True)
class TotpFactor:
    user_id: uuid.UUID
    secret: str  # base32, opened from its sealed form only in memory.
    confirmed_at: datetime | None
    last_used_step: int

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None


def is_totp_code(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isdigit()


def normalize_recovery_code(code: str) -> str:
    """Users type recovery codes with spaces, dashes or lower case; the stored form has none."""
    return "".join(ch for ch in code.upper() if ch.isalnum())
