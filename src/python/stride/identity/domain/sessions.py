"""Sessions and their refresh tokens: how long they live and when they stop being usable."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from stride.platform.errors import Unauthenticated

ACCESS_TOKEN_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(days=30)  # Absolute: refreshing never extends a session past this.
EMAIL_VERIFICATION_TTL = timedelta(hours=48)

REVOKED_BY_SIGN_OUT = "sign_out"
REVOKED_BY_USER = "revoked"
REVOKED_BY_REUSE = "refresh_token_reuse"
REVOKED_BY_PASSWORD_RESET = "password_reset"  # noqa: S105 - a revocation reason.
REVOKED_BY_EMAIL_CHANGE_REVERT = "email_change_reverted"


@dataclass(frozen=True)
class EmailVerification:
    """The link a new account's address is verified with (only its token's hash is kept)."""

    user_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    user_id: uuid.UUID
    studio: str | None
    user_agent: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoke_reason: str | None = None

    @property
    def resource_name(self) -> str:
        return f"users/{self.user_id}/sessions/{self.id}"

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def revoke(self, now: datetime, reason: str) -> Session:
        if self.revoked_at is not None:
            return self
        return replace(self, revoked_at=now, revoke_reason=reason)


def new_session(user_id: uuid.UUID, studio: str | None, user_agent: str, now: datetime) -> Session:
    return Session(
        id=uuid.uuid4(),
        user_id=user_id,
        studio=studio,
        user_agent=user_agent[:256],
        created_at=now,
        last_used_at=now,
        expires_at=now + SESSION_TTL,
    )


@dataclass(frozen=True)
class RefreshToken:
    """One link of a session's refresh-token chain, stored only as a hash."""

    token_hash: bytes
    session_id: uuid.UUID
    issued_at: datetime
    used_at: datetime | None = None


class RefreshTokenReused(Unauthenticated):
    """An already-exchanged refresh token came back: someone holds a copy. The session dies."""

    default_reason = "REFRESH_TOKEN_REUSED"
    default_message_key = "session.refresh_token_reused"


def check_refresh(token: RefreshToken | None, session: Session | None, now: datetime) -> Session:
    """The session a refresh token may renew, or why it may not."""
    if token is None or session is None:
        raise Unauthenticated("REFRESH_TOKEN_INVALID", "session.refresh_token_invalid")
    if token.used_at is not None:
        raise RefreshTokenReused()
    if not session.is_active(now):
        raise Unauthenticated("SESSION_ENDED", "session.ended")
    return session
