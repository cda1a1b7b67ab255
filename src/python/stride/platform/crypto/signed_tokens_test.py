import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.platform.crypto.signed_tokens import sign, signed_body

KEY = b"k" * 32


@given(st.binary(min_size=1, max_size=40))
def test_a_token_carries_its_body(body: bytes) -> None:
    assert signed_body(KEY, sign(KEY, body), len(body)) == body


@pytest.mark.parametrize(
    "token",
    [
        sign(b"x" * 32, b"body-0123456789!"),  # Another key.
        sign(KEY, b"body-0123456789!", purpose=b"other"),  # Another purpose.
        sign(KEY, b"body-0123456789!")[:-2],  # Damaged.
        sign(KEY, b"body-0123456789!" + b"x"),  # Another length.
        "not base64 at all!",
        "",
    ],
)
def test_anything_but_a_genuine_token_is_refused(token: str) -> None:
    assert signed_body(KEY, token, 16) is None


def test_no_key_signs_or_accepts() -> None:
    with pytest.raises(ValueError, match="empty key"):
        sign(b"", b"body")
    assert signed_body(b"", sign(KEY, b"body"), 4) is None
