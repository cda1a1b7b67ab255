"""Accounts: the rules of what a valid account is, free of storage and transport."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.i18n import SUPPORTED_LOCALES
from stride.platform.time_zones import is_time_zone

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
DISPLAY_NAME_MAX_LENGTH = 80
EMAIL_MAX_LENGTH = 254
DEFAULT_TIME_ZONE = "Asia/Riyadh"

# Deliberately permissive (RFC 5322 allows far more than any real mailbox uses) but strict enough
# to reject obvious typos; ownership is proven by the verification email, not by the regex.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


ROLES = ("member", "instructor", "front_desk", "manager", "admin")
PLATFORM_WIDE = ""  # The studio of a grant that applies in every studio (admins).
_STUDIO = re.compile(r"^studios/[a-z0-9][a-z0-9-]{0,62}$")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
UPDATABLE_FIELDS = ("display_name", "language_code", "time_zone", "phone_number")
# What the services keeping a copy of them (Notifications) follow.
LOCALE_FIELDS = ("language_code", "time_zone")
FIRST_PROFILE_REVISION = 1


@dataclass(frozen=True, order=True)
class RoleGrant:
    role: str
    studio: str = PLATFORM_WIDE  # `studios/{studio}`, or every studio when empty.


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    display_name: str
    language_code: str
    time_zone: str
    email_verified: bool
    created_at: datetime
    phone_number: str = ""
    roles: tuple[RoleGrant, ...] = ()
    # Raised by every change to the profile, so copies elsewhere can tell newer from older.
    profile_revision: int = FIRST_PROFILE_REVISION

    @property
    def resource_name(self) -> str:
        return f"users/{self.id}"

    def locale_differs(self, other: User) -> bool:
        """Whether `other` speaks another language or lives in another time zone."""
        return any(getattr(self, name) != getattr(other, name) for name in LOCALE_FIELDS)

    def roles_in(self, studio: str | None) -> frozenset[str]:
        """What the user may do in `studio`: everyone is a member; grants add to that."""
        return frozenset(
            {"member"}
            | {grant.role for grant in self.roles if grant.studio in (PLATFORM_WIDE, studio)}
        )

    def default_studio(self) -> str | None:
        """The studio a session is scoped to when the client names none: the only one the user
        holds studio roles in, if there is exactly one."""
        studios = {grant.studio for grant in self.roles if grant.studio != PLATFORM_WIDE}
        return studios.pop() if len(studios) == 1 else None


def validate_role_grant(role: str, studio: str) -> RoleGrant:
    violations = []
    if role not in ROLES:
        violations.append(
            FieldViolation("grant.role", "field.invalid_choice", {"choices": ", ".join(ROLES)})
        )
    if studio and not _STUDIO.match(studio):
        violations.append(FieldViolation("grant.studio", "studio.invalid_name"))
    if role == "admin" and studio:
        violations.append(FieldViolation("grant.studio", "role.admin_is_platform_wide"))
    if role not in ("admin", "member") and not studio:
        violations.append(FieldViolation("grant.studio", "field.required"))
    if violations:
        raise InvalidArgument(violations)
    return RoleGrant(role, studio)


def validate_studio_name(studio: str, field: str) -> str:
    if not _STUDIO.match(studio):
        raise InvalidArgument([FieldViolation(field, "studio.invalid_name")])
    return studio


def validate_profile_update(user: User, changes: Mapping[str, str]) -> User:
    """Applies the named profile fields; anything outside UPDATABLE_FIELDS is refused."""
    unknown = sorted(set(changes) - set(UPDATABLE_FIELDS))
    if unknown:
        raise InvalidArgument(
            [FieldViolation("update_mask", "field.not_updatable", {"fields": ", ".join(unknown)})]
        )
    if not changes:
        raise InvalidArgument([FieldViolation("update_mask", "field.required")])
    violations = [
        *(_display_name_violations(changes["display_name"]) if "display_name" in changes else []),
        *(_language_violations(changes["language_code"]) if "language_code" in changes else []),
        *(_time_zone_violations(changes["time_zone"]) if "time_zone" in changes else []),
        *(_phone_violations(changes["phone_number"]) if "phone_number" in changes else []),
    ]
    if "display_name" in changes and not changes["display_name"].strip():
        violations.append(FieldViolation("display_name", "field.required"))
    if violations:
        raise InvalidArgument(violations)
    cleaned: dict[str, Any] = {key: value.strip() for key, value in changes.items()}
    return replace(user, **cleaned)


def _phone_violations(phone_number: str) -> list[FieldViolation]:
    if phone_number and not _E164.match(phone_number):
        return [FieldViolation("phone_number", "field.invalid_phone")]
    return []


@dataclass(frozen=True)
class NewAccount:
    """A validated sign-up: what becomes a User once stored."""

    email: str
    password: str
    display_name: str
    language_code: str
    time_zone: str
    phone_number: str = ""


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively; the domain part is case-insensitive by RFC 5321."""
    return email.strip().lower()


def validate_new_account(
    *,
    email: str,
    password: str,
    display_name: str,
    language_code: str,
    time_zone: str,
    phone_number: str = "",
) -> NewAccount:
    """Checks every field at once so the client can show all problems together."""
    normalized_email = normalize_email(email)
    violations = [
        *_email_violations(normalized_email),
        *_password_violations(password, normalized_email),
        *_display_name_violations(display_name),
        *_language_violations(language_code),
        *_time_zone_violations(time_zone),
        *_phone_violations(phone_number),
    ]
    if violations:
        raise InvalidArgument(violations)
    return NewAccount(
        email=normalized_email,
        password=password,
        display_name=display_name.strip() or normalized_email.split("@")[0],
        language_code=language_code,
        time_zone=time_zone,
        phone_number=phone_number,
    )


def validate_email(email: str, field: str) -> str:
    violations = [FieldViolation(field, v.message_key, v.params) for v in _email_violations(email)]
    if violations:
        raise InvalidArgument(violations)
    return email


def validate_new_password(password: str, email: str, field: str = "new_password") -> str:
    violations = [
        FieldViolation(field, v.message_key, v.params)
        for v in _password_violations(password, email)
    ]
    if violations:
        raise InvalidArgument(violations)
    return password


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
    if not is_time_zone(time_zone):
        return [FieldViolation("time_zone", "field.invalid_time_zone")]
    return []
