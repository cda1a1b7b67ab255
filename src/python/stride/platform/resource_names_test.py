import uuid

import pytest

from stride.platform.errors import InvalidArgument
from stride.platform.resource_names import parse_resource_name, parse_uuid_ids


def test_ids_come_back_in_collection_order() -> None:
    user, booking = uuid.uuid4(), uuid.uuid4()
    name = f"users/{user}/bookings/{booking}"
    assert parse_uuid_ids(name, ("users", "bookings"), field="name", message_key="k") == [
        user,
        booking,
    ]
    assert parse_resource_name("studios/olaya", ("studios",), field="f", message_key="k") == [
        "olaya"
    ]


@pytest.mark.parametrize(
    "name", ["", "users", "users/", "people/1", "users/1/bookings", "users/1/x/2", "users/1/"]
)
def test_malformed_names_are_field_violations(name: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_resource_name(name, ("users",), field="parent", message_key="user.invalid_name")
    assert raised.value.violations[0].field == "parent"


def test_ids_that_must_be_uuids_are_checked() -> None:
    with pytest.raises(InvalidArgument):
        parse_uuid_ids("users/not-a-uuid", ("users",), field="name", message_key="k")
