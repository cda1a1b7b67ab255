import secrets
from datetime import UTC, datetime, timedelta

from stride.identity.adapters.sign_in_nonces import issue_nonce, issued_nonce
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
KEYS = DataKeyring.from_spec(new_data_key_spec("k1"), "k1")


def test_an_issued_nonce_is_recognised_until_it_expires() -> None:
    nonce = issue_nonce(KEYS, NOW + timedelta(minutes=10))
    assert len(nonce) <= 256  # The contract's bound on SignInWithProviderRequest.nonce.
    issued = issued_nonce(KEYS, nonce, NOW)
    assert issued is not None
    assert issued.expires_at == NOW + timedelta(minutes=10)
    assert issued_nonce(KEYS, nonce, NOW + timedelta(minutes=10)) is None
    assert issue_nonce(KEYS, NOW) != issue_nonce(KEYS, NOW)


def test_a_nonce_the_client_made_up_is_not_ours() -> None:
    other = DataKeyring.from_spec(new_data_key_spec("k2"), "k2")
    for nonce, keys in [(secrets.token_urlsafe(16), KEYS), (issue_nonce(other, NOW), KEYS)]:
        assert issued_nonce(keys, nonce, NOW - timedelta(minutes=1)) is None
