"""TOTP (RFC 6238) with pyotp: secrets, otpauth URIs, and which time step a code belongs to."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

from stride.identity.domain.mfa import ISSUER_NAME

STEP_SECONDS = 30
_TOLERATED_STEPS = (0, -1, 1)  # The current step first; one step of clock drift either way.


def new_secret() -> str:
    return pyotp.random_base32(length=32)  # 160 bits, RFC 4226's recommendation.


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER_NAME)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step `code` is valid for, within the tolerated drift, else None."""
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for offset in _TOLERATED_STEPS:
        step = current + offset
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def code_at(secret: str, moment: datetime) -> str:
    """What an authenticator app shows at `moment` (tests and support tooling)."""
    return pyotp.TOTP(secret).at(moment)
