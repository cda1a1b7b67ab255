import base64
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.notifications.domain.unsubscribe import unsubscribe_token, unsubscribed_user
from stride.platform.errors import InvalidArgument

SECRET = b"s" * 32


def swap_user(token: str, other: uuid.UUID) -> str:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return base64.urlsafe_b64encode(other.bytes + raw[16:]).decode().rstrip("=")


@given(st.uuids())
def test_a_token_names_its_user(user: uuid.UUID) -> None:
    assert unsubscribed_user(SECRET, unsubscribe_token(SECRET, user)) == user


def test_without_a_secret_no_token_is_genuine() -> None:
    with pytest.raises(InvalidArgument):
        unsubscribed_user(b"", unsubscribe_token(SECRET, uuid.uuid4()))


@pytest.mark.parametrize(
    "forge",
    [
        lambda token, other: swap_user(token, other),  # Someone else's id, the same signature.
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
