"""Nonces for sign-in with a provider: issued signed (nothing stored until one is used) with
their expiry, recognised when they come back, and spent once (`SessionRepository.spend_nonce`)
in the transaction that opens the session."""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from stride.platform.crypto.sealing import DataKeyring
from stride.platform.crypto.signed_tokens import sign, signed_body

KEY_PURPOSE = "identity:sign-in-nonces"
_TOKEN_PURPOSE = b"sign-in-nonce"
_BODY = struct.Struct(">q16s")  # Expiry (Unix seconds), 128 random bits.


@dataclass(frozen=True)
class IssuedNonce:
    digest: bytes  # SHA-256 of the nonce: what is kept once it is spent.
    expires_at: datetime


def issue_nonce(data_keys: DataKeyring, expires_at: datetime) -> str:
    body = _BODY.pack(int(expires_at.timestamp()), os.urandom(16))
    return sign(data_keys.derive_key(KEY_PURPOSE), body, _TOKEN_PURPOSE)


def issued_nonce(data_keys: DataKeyring, nonce: str, now: datetime) -> IssuedNonce | None:
    """The nonce as we issued it, while unexpired; None for one we did not issue."""
    body = signed_body(data_keys.derive_key(KEY_PURPOSE), nonce, _BODY.size, _TOKEN_PURPOSE)
    if body is None:
        return None
    expires_at = datetime.fromtimestamp(_BODY.unpack(body)[0], UTC)
    if expires_at <= now:
        return None
    return IssuedNonce(hashlib.sha256(nonce.encode()).digest(), expires_at)
