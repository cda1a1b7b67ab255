"""Opaque tokens (refresh, verification, reset, recovery codes), stored only as SHA-256: they
are random enough that a fast hash is the right one."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid

TOKEN_BYTES = 32


def new_opaque_token() -> tuple[str, bytes]:
    """The token to hand out once, and the hash to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_opaque_token(token)


def hash_opaque_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_recovery_code() -> str:
    """80 random bits as 16 base32 characters, grouped for reading: `ABCD-EFGH-IJKL-MNOP`."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def hash_recovery_code(user_id: uuid.UUID, normalized_code: str) -> bytes:
    return hashlib.sha256(f"{user_id}:{normalized_code}".encode()).digest()
