"""How much Notifications sends on members' say-so, as pure rules: which phone numbers it texts
and how often, and how many of Identity's emails one address gets.

Every text costs money and can be steered by whoever controls a phone number field (SMS
pumping: a number on a premium-rate range earns its owner a share of each text), and every
account email lands in an inbox whoever asked for it (flooding). So a number is texted only
once its owner proved it with a one-time code, only in countries Stride serves and never on a
premium-rate range, and sends are capped per member, per number and per address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

# Gulf and Levant markets, Egypt, and the UK and North America (where members travel from).
DEFAULT_TEXT_COUNTRY_CODES = frozenset(
    {"966", "971", "965", "973", "974", "968", "962", "961", "20", "44", "1"}
)
# Premium-rate and shared-cost ranges inside those countries: North America's 900 and 976,
# the UK's 09 (premium), 087 (shared cost) and 070 (personal numbers, resold as premium).
DEFAULT_REFUSED_TEXT_PREFIXES = ("+1900", "+1976", "+449", "+4487", "+4470")

PHONE_CODE_DIGITS = 6
PHONE_CODE_LIFETIME = timedelta(minutes=10)
PHONE_CODE_ATTEMPTS = 5  # Guesses per code: one in 200,000 to guess it before it is spent.


@dataclass(frozen=True)
class SendLimits:
    """What Notifications may send; settings (`STRIDE_…`) in a running service."""

    text_country_codes: frozenset[str] = DEFAULT_TEXT_COUNTRY_CODES
    refused_text_prefixes: tuple[str, ...] = DEFAULT_REFUSED_TEXT_PREFIXES
    texts_per_member_per_day: int = 10
    texts_per_number_per_day: int = 10
    phone_codes_per_member_per_hour: int = 3
    # Codes are counted per number apart from texts: requesting codes for someone else's
    # number must not use up the texts its owner gets.
    phone_codes_per_number_per_day: int = 5
    account_emails_per_address_per_hour: int = 5

    def textable(self, number: str) -> bool:
        """Whether `number` (E.164) is in a country Stride texts and on no refused range.
        Country codes are prefix-free (ITU-T E.164), so a prefix match names one country."""
        digits = number.removeprefix("+")
        served = any(digits.startswith(code) for code in self.text_country_codes)
        return served and not number.startswith(self.refused_text_prefixes)


def day_window(now: datetime) -> datetime:
    """The start of `now`'s UTC day: texts are counted per day."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def hour_window(now: datetime) -> datetime:
    """The start of `now`'s hour: codes and account emails are counted per hour."""
    return now.replace(minute=0, second=0, microsecond=0)


def member_texts(user_id: uuid.UUID) -> str:
    return f"texts/member/{user_id}"


def number_texts(number: str) -> str:
    return f"texts/number/{number}"


def member_phone_codes(user_id: uuid.UUID) -> str:
    return f"phone-codes/member/{user_id}"


def number_phone_codes(number: str) -> str:
    return f"phone-codes/number/{number}"


def address_emails(address: str) -> str:
    return f"account-emails/address/{address.strip().lower()}"


@dataclass(frozen=True)
class PhoneCode:
    """A one-time code texted to `phone_number` to prove it is the member's; only its hash is
    kept, bound to the member and the number."""

    user_id: uuid.UUID
    phone_number: str
    code_hash: bytes
    expires: datetime
    attempts: int = 0  # Guesses so far, counted before each is checked.


def new_phone_code(user_id: uuid.UUID, phone_number: str, now: datetime) -> tuple[PhoneCode, str]:
    """A fresh code for the number, and the code itself, to text once and forget."""
    code = f"{secrets.randbelow(10**PHONE_CODE_DIGITS):0{PHONE_CODE_DIGITS}d}"
    hashed = _code_hash(user_id, phone_number, code)
    return PhoneCode(user_id, phone_number, hashed, now + PHONE_CODE_LIFETIME), code


def well_formed_code(code: str) -> bool:
    return len(code) == PHONE_CODE_DIGITS and code.isascii() and code.isdigit()


def code_usable(phone_code: PhoneCode, now: datetime) -> bool:
    """Not expired, and not guessed at more than PHONE_CODE_ATTEMPTS times (this guess
    included)."""
    return now < phone_code.expires and phone_code.attempts <= PHONE_CODE_ATTEMPTS


def code_matches(phone_code: PhoneCode, code: str) -> bool:
    expected = _code_hash(phone_code.user_id, phone_code.phone_number, code)
    return hmac.compare_digest(expected, phone_code.code_hash)


def _code_hash(user_id: uuid.UUID, phone_number: str, code: str) -> bytes:
    # A code's whole space is a million values, so no hash hides it from someone holding the
    # table; hashing keeps live codes out of plain reads and backups, and the ten-minute life
    # bounds what a stolen copy is worth.
    return hashlib.sha256(f"{user_id}:{phone_number}:{code}".encode()).digest()
