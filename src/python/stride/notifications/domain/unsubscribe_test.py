import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.notifications.domain.unsubscribe import unsubscribe_token, unsubscribed_user
from stride.platform.errors import InvalidArgument

SECRET = b"s" * 32


@given(st.uuids())
def test_a_token_names_its_user(user: uuid.UUID) -> None:
    assert unsubscribed_user(SECRET, unsubscribe_token(SECRET, user)) == user


@pytest.mark.parametrize(
    "forge",
    [
        lambda token, other: f"{other.hex}.{token.split('.')[1]}",  # Someone else's id.
        lambda token, other: unsubscribe_token(b"x" * 32, other),  # Another secret.
        lambda token, other: token[:-2],
        lambda token, other: "not-a-token",
        lambda token, other: "",
    ],
)
def test_a_forged_or_damaged_token_is_refused(forge) -> None:  # type: ignore[no-untyped-def]
    token = unsubscribe_token(SECRET, uuid.uuid4())
    with pytest.raises(InvalidArgument):
        unsubscribed_user(SECRET, forge(token, uuid.uuid4()))
