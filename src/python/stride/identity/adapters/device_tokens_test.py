import uuid
from datetime import UTC, datetime, timedelta

from stride.identity.adapters.device_tokens import (
    TrustedDevice,
    issue_device_token,
    trusted_device,
)
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
KEYS = DataKeyring.from_spec(new_data_key_spec("k1"), "k1")
DEVICE = TrustedDevice(uuid.uuid4(), uuid.uuid4())


def test_a_token_names_its_device_until_it_expires() -> None:
    token = issue_device_token(KEYS, DEVICE, NOW + timedelta(days=1))
    assert len(token) <= 256  # The contract's bound on SignInRequest.device_token.
    assert trusted_device(KEYS, token, NOW) == DEVICE
    assert trusted_device(KEYS, token, NOW + timedelta(days=1)) is None


def test_forged_damaged_or_foreign_tokens_name_no_device() -> None:
    token = issue_device_token(KEYS, DEVICE, NOW + timedelta(days=1))
    other_keys = DataKeyring.from_spec(new_data_key_spec("k2"), "k2")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for wrong, keys in [(token, other_keys), (flipped, KEYS), ("not a token", KEYS)]:
        assert trusted_device(keys, wrong, NOW) is None
