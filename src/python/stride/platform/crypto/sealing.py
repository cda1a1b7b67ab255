"""Encryption at rest for secrets and PII: AES-256-GCM under named data keys.

A sealed value records the id of the key that sealed it, so keys rotate without a flag day: new
values are sealed with the active key, old ones still open with the key they name, and
`reseal` moves a value onto the active key. Associated data binds a ciphertext to where it
belongs (e.g. `users/42:totp`), so a ciphertext copied into another row does not open.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32  # AES-256.
NONCE_BYTES = 12  # 96-bit random nonces: safe for far more than 2^32 values per key.
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class SealingError(ValueError):
    """A value cannot be opened: unknown key, tampered, or sealed for another context."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: bytes  # nonce ‖ AES-GCM ciphertext ‖ tag.


class DataKeyring:
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        for position, (key_id, key) in enumerate(keys.items(), start=1):
            if not _KEY_ID.match(key_id):
                # Not quoted: an entry missing its `id:` would print the key itself.
                raise ValueError(f"data key {position}: its id is not `[A-Za-z0-9_-]{{1,32}}`")
            if len(key) != KEY_BYTES:
                raise ValueError(f"data key {key_id!r} must be {KEY_BYTES} bytes")
        if active_key_id not in keys:
            raise ValueError(f"active data key {active_key_id!r} is not in the keyring")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._raw = dict(keys)
        self.active_key_id = active_key_id

    @classmethod
    def from_spec(cls, spec: str, active_key_id: str) -> DataKeyring:
        """`id1:<base64 key>,id2:<base64 key>` — the STRIDE_DATA_KEYS format."""
        keys: dict[str, bytes] = {}
        for entry in filter(None, (part.strip() for part in spec.split(","))):
            key_id, _, encoded = entry.partition(":")
            keys[key_id] = base64.b64decode(encoded, validate=True)
        return cls(keys, active_key_id)

    def seal(self, plaintext: bytes, context: str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        box = self._keys[self.active_key_id]
        return Sealed(self.active_key_id, nonce + box.encrypt(nonce, plaintext, context.encode()))

    def open(self, sealed: Sealed, context: str) -> bytes:
        box = self._keys.get(sealed.key_id)
        if box is None:
            raise SealingError(f"data key {sealed.key_id!r} is not in the keyring")
        nonce, body = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
        try:
            return box.decrypt(nonce, body, context.encode())
        except InvalidTag:
            raise SealingError("sealed value does not open: tampered or wrong context") from None

    def derive_key(self, purpose: str) -> bytes:
        """A 256-bit key for `purpose` (e.g. signing short-lived codes), derived from the
        active data key with HKDF-SHA256, so no further secret needs distributing. It changes
        when the active key does: use it only for values that live minutes."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode())
        return hkdf.derive(self._raw[self.active_key_id])

    def reseal(self, sealed: Sealed, context: str) -> Sealed:
        if sealed.key_id == self.active_key_id:
            return sealed
        return self.seal(self.open(sealed, context), context)


def new_data_key_spec(key_id: str) -> str:
    """A fresh `id:<base64>` entry for STRIDE_DATA_KEYS."""
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"
