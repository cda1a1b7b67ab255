import pytest

from stride.identity.domain.model import validate_new_account
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
