import base64

import pytest

from stride.platform.crypto.sealing import DataKeyring, Sealed, SealingError, new_data_key_spec


def keyring(spec: str, active: str) -> DataKeyring:
    return DataKeyring.from_spec(spec, active)


OLD, NEW = new_data_key_spec("k1"), new_data_key_spec("k2")


def test_a_sealed_value_opens_only_in_its_context() -> None:
    ring = keyring(OLD, "k1")
    sealed = ring.seal(b"JBSWY3DPEHPK3PXP", "users/1:totp")
    assert sealed.key_id == "k1"
    assert b"JBSWY3DPEHPK3PXP" not in sealed.ciphertext
    assert ring.open(sealed, "users/1:totp") == b"JBSWY3DPEHPK3PXP"
    with pytest.raises(SealingError):
        ring.open(sealed, "users/2:totp")


def test_tampering_is_detected() -> None:
    ring = keyring(OLD, "k1")
    sealed = ring.seal(b"secret", "ctx")
    flipped = bytes([sealed.ciphertext[-1] ^ 1])
    with pytest.raises(SealingError, match="tampered"):
        ring.open(Sealed("k1", sealed.ciphertext[:-1] + flipped), "ctx")


def test_the_same_plaintext_seals_differently_each_time() -> None:
    ring = keyring(OLD, "k1")
    assert ring.seal(b"x", "c").ciphertext != ring.seal(b"x", "c").ciphertext


def test_rotation_keeps_old_values_readable_and_reseals_onto_the_new_key() -> None:
    sealed = keyring(OLD, "k1").seal(b"secret", "ctx")
    rotated = keyring(f"{OLD},{NEW}", "k2")
    assert rotated.open(sealed, "ctx") == b"secret"
    moved = rotated.reseal(sealed, "ctx")
    assert moved.key_id == "k2"
    assert keyring(NEW, "k2").open(moved, "ctx") == b"secret"
    with pytest.raises(SealingError, match="not in the keyring"):
        keyring(NEW, "k2").open(sealed, "ctx")


def test_keys_must_be_256_bits_and_the_active_one_present() -> None:
    short = base64.b64encode(b"x" * 16).decode()
    with pytest.raises(ValueError, match="32 bytes"):
        keyring(f"k1:{short}", "k1")
    with pytest.raises(ValueError, match="active"):
        keyring(OLD, "k9")


def test_derived_keys_differ_by_purpose_and_follow_the_active_key() -> None:
    ring = keyring(f"{OLD},{NEW}", "k1")
    assert ring.derive_key("check-in") == keyring(OLD, "k1").derive_key("check-in")
    assert ring.derive_key("check-in") != ring.derive_key("other")
    assert len(ring.derive_key("check-in")) == 32
    assert keyring(f"{OLD},{NEW}", "k2").derive_key("check-in") != ring.derive_key("check-in")
