"""Signed tokens: bytes a service hands out and must recognise when they come back (a
check-in code, an unsubscribe link). A token is URL-safe base64 (unpadded) of the body and a
128-bit truncated HMAC-SHA256 of it; nothing in it is secret, only unforgeable."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

MAC_BYTES = 16


def sign(key: bytes, body: bytes, purpose: bytes = b"") -> str:
    """A token carrying `body`; `purpose` is signed too (not carried), so a token made for one
    use is refused by another that shares the key."""
    if not key:
        raise ValueError("an empty key signs nothing")
    return base64.urlsafe_b64encode(body + _mac(key, purpose + body)).decode().rstrip("=")


def signed_body(key: bytes, token: str, body_bytes: int, purpose: bytes = b"") -> bytes | None:
    """The body of a token `sign` made with `key` and `purpose` (of `body_bytes` bytes); None
    for anything else: forged, damaged, another key or purpose, or no key at all."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    body, mac = raw[:body_bytes], raw[body_bytes:]
    if not key or len(raw) != body_bytes + MAC_BYTES:
        return None
    return body if hmac.compare_digest(mac, _mac(key, purpose + body)) else None


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]
