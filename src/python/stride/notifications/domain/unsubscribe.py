"""Unsubscribe tokens: what a marketing email's links carry so its reader can stop marketing
email without signing in. A token names the user and is signed (HMAC-SHA256 with the
service's secret), so nobody can unsubscribe someone else by guessing; it does not expire,
since an unsubscribe link must keep working in an old email (RFC 8058)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from stride.platform.errors import FieldViolation, InvalidArgument

_PURPOSE = b"stride.notifications.unsubscribe.marketing_email/"
_MAC_BYTES = 16  # 128 bits: far beyond guessing, short enough for a link.


def unsubscribe_token(secret: bytes, user_id: uuid.UUID) -> str:
    return f"{user_id.hex}.{_encode(_mac(secret, user_id))}"


def unsubscribed_user(secret: bytes, token: str) -> uuid.UUID:
    """The user a token was made for; InvalidArgument if it was not made with `secret`."""
    user_hex, _, signature = token.partition(".")
    try:
        user_id = uuid.UUID(hex=user_hex)
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError:
        given, user_id = b"", uuid.UUID(int=0)
    if not hmac.compare_digest(given, _mac(secret, user_id)):
        raise InvalidArgument([FieldViolation("token", "unsubscribe.invalid_token")])
    return user_id


def _mac(secret: bytes, user_id: uuid.UUID) -> bytes:
    return hmac.new(secret, _PURPOSE + user_id.bytes, hashlib.sha256).digest()[:_MAC_BYTES]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
