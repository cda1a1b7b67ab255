"""Unsubscribe tokens: what a marketing email's links carry so its reader can stop marketing
email without signing in. A token names the user and is signed with the service's secret
(`stride.platform.crypto.signed_tokens`), so nobody can unsubscribe someone else by guessing;
it does not expire, since an unsubscribe link must keep working in an old email (RFC 8058)."""

from __future__ import annotations

import uuid

from stride.platform.crypto.signed_tokens import sign, signed_body
from stride.platform.errors import FieldViolation, InvalidArgument

_PURPOSE = b"stride.notifications.unsubscribe.marketing_email"


def unsubscribe_token(secret: bytes, user_id: uuid.UUID) -> str:
    return sign(secret, user_id.bytes, _PURPOSE)


def unsubscribed_user(secret: bytes, token: str) -> uuid.UUID:
    """The user a token was made for; InvalidArgument if it was not made with `secret` (with
    no secret set, no token is genuine)."""
    body = signed_body(secret, token, 16, _PURPOSE)
    if body is None:
        raise InvalidArgument([FieldViolation("token", "unsubscribe.invalid_token")])
    return uuid.UUID(bytes=body)
