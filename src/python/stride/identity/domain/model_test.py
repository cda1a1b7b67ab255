import uuid
from datetime import UTC, datetime

import pytest

from stride.identity.domain.model import (
    RoleGrant,
    User,
    validate_new_account,
    validate_profile_update,
)
from stride.platform.errors import InvalidArgument

VALID = {
    "email": " Layla@Example.COM ",
    "password": "correct horse battery",
    "display_name": "Layla",
    "language_code": "ar",
    "time_zone": "Asia/Riyadh",
}


def test_valid_account_is_normalized() -> None:
    account = validate_new_account(**VALID)
    assert account.email == "layla@example.com"
    assert account.display_name == "Layla"


def test_display_name_defaults_to_the_mailbox_name() -> None:
    assert validate_new_account(**{**VALID, "display_name": "  "}).display_name == "layla"


@pytest.mark.parametrize(
    ("field", "value", "message_key"),
    [
        ("email", "", "field.required"),
        ("email", "not-an-email", "field.invalid_email"),
        ("email", "a@b", "field.invalid_email"),
        ("email", "x" * 250 + "@example.com", "field.invalid_email"),
        ("password", "", "field.required"),
        ("password", "short", "field.too_short"),
        ("password", "p" * 129, "field.too_long"),
        ("password", "LAYLA@example.com", "password.same_as_email"),
        ("display_name", "n" * 81, "field.too_long"),
        ("language_code", "fr", "field.invalid_choice"),
        ("time_zone", "Mars/Olympus", "field.invalid_time_zone"),
        ("time_zone", "../../etc/passwd", "field.invalid_time_zone"),
        ("phone_number", "0501234567", "field.invalid_phone"),
        ("phone_number", "+9665012345678901", "field.invalid_phone"),
    ],
)
def test_each_bad_field_is_reported(field: str, value: str, message_key: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        validate_new_account(**{**VALID, field: value})
    assert [(v.field, v.message_key) for v in raised.value.violations] == [(field, message_key)]


def test_all_violations_are_reported_together() -> None:
    with pytest.raises(InvalidArgument) as raised:
        validate_new_account(
            email="nope", password="x", display_name="", language_code="de", time_zone="Nowhere"
        )
    assert {v.field for v in raised.value.violations} == {
        "email",
        "password",
        "language_code",
        "time_zone",
    }


def test_the_profile_bootstrap_keeps_a_valid_phone_number() -> None:
    assert validate_new_account(**VALID, phone_number="+966501234567").phone_number == (
        "+966501234567"
    )


def test_roles_apply_in_their_studio_and_admin_everywhere() -> None:
    user = User(
        uuid.uuid4(),
        "a@b.co",
        "A",
        "en",
        "Asia/Riyadh",
        True,
        datetime.now(UTC),
        roles=(RoleGrant("admin"), RoleGrant("instructor", "studios/olaya")),
    )
    assert user.roles_in("studios/olaya") == {"member", "admin", "instructor"}
    assert user.roles_in("studios/jeddah") == {"member", "admin"}
    assert user.default_studio() == "studios/olaya"


def test_profile_updates_refuse_fields_outside_the_profile() -> None:
    user = User(uuid.uuid4(), "a@b.co", "A", "en", "Asia/Riyadh", True, datetime.now(UTC))
    with pytest.raises(InvalidArgument) as raised:
        validate_profile_update(user, {"email": "x@y.z"})
    assert raised.value.violations[0].field == "update_mask"
    updated = validate_profile_update(user, {"display_name": "  Noor ", "language_code": "ar"})
    assert (updated.display_name, updated.language_code) == ("Noor", "ar")


def test_only_a_new_language_or_time_zone_is_a_change_other_services_follow() -> None:
    user = User(uuid.uuid4(), "a@b.co", "A", "en", "Asia/Riyadh", True, datetime.now(UTC))
    renamed = validate_profile_update(user, {"display_name": "Noor"})
    moved = validate_profile_update(user, {"time_zone": "Europe/London"})
    arabic = validate_profile_update(user, {"language_code": "ar"})
    assert not renamed.locale_differs(user)
    assert moved.locale_differs(user)
    assert arabic.locale_differs(user)
