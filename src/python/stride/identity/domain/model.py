"""Accounts: the rules of what a valid account is, free of storage and transport."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.i18n import SUPPORTED_LOCALES

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
DISPLAY_NAME_MAX_LENGTH = 80
EMAIL_MAX_LENGTH = 254
DEFAULT_TIME_ZONE = "Asia/Riyadh"

# Deliberately permissive (RFC 5322 allows far more than any real mailbox uses) but strict enough
# to reject obvious typos; ownership is proven by the verification email, not by the regex.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    display_name: str
    language_code: str
    time_zone: str
    email_verified: bool
    created_at: datetime

    @property
    def resource_name(self) -> str:
        return f"users/{self.id}"


@dataclass(frozen=True)
class NewAccount:
    """A validated sign-up: what becomes a User once stored."""

    email: str
    password: str
    display_name: str
    language_code: str
    time_zone: str


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively; the domain part is case-insensitive by RFC 5321."""
    return email.strip().lower()


def validate_new_account(
    *, email: str, password: str, display_name: str, language_code: str, time_zone: str
) -> NewAccount:
    """Checks every field at once so the client can show all problems together."""
    normalized_email = normalize_email(email)
    violations = [
        *_email_violations(normalized_email),
        *_password_violations(password, normalized_email),
        *_display_name_violations(display_name),
        *_language_violations(language_code),
        *_time_zone_violations(time_zone),
    ]
    if violations:
        raise InvalidArgument(violations)
    return NewAccount(
        email=normalized_email,
        password=password,
        display_name=display_name.strip() or normalized_email.split("@")[0],
        language_code=language_code,
        time_zone=time_zone,
    )


def _email_violations(email: str) -> list[FieldViolation]:
    if not email:
        return [FieldViolation("email", "field.required")]
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL.match(email):
        return [FieldViolation("email", "field.invalid_email")]
    return []


def _password_violations(password: str, email: str) -> list[FieldViolation]:
    if not password:
        return [FieldViolation("password", "field.required")]
    if len(password) < PASSWORD_MIN_LENGTH:
        return [FieldViolation("password", "field.too_short", {"min": PASSWORD_MIN_LENGTH})]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [FieldViolation("password", "field.too_long", {"max": PASSWORD_MAX_LENGTH})]
    if password.strip().lower() == email:
        return [FieldViolation("password", "password.same_as_email")]
    return []


def _display_name_violations(display_name: str) -> list[FieldViolation]:
    if len(display_name.strip()) > DISPLAY_NAME_MAX_LENGTH:
        return [FieldViolation("display_name", "field.too_long", {"max": DISPLAY_NAME_MAX_LENGTH})]
    return []


def _language_violations(language_code: str) -> list[FieldViolation]:
    if language_code not in SUPPORTED_LOCALES:
        return [
            FieldViolation(
                "language_code", "field.invalid_choice", {"choices": ", ".join(SUPPORTED_LOCALES)}
            )
        ]
    return []


def _time_zone_violations(time_zone: str) -> list[FieldViolation]:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a key at all, e.g. "../x".
        return [FieldViolation("time_zone", "field.invalid_time_zone")]
    return []
