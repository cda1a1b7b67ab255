"""Opaque tokens (refresh, email verification): 256 random bits, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_opaque_token() -> tuple[str, bytes]:
    """The token to hand out once, and the hash to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_opaque_token(token)


def hash_opaque_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
