"""Access tokens: short-lived JWTs (RFC 9068 profile) signed with the current signing key."""

from __future__ import annotations

import uuid
from datetime import datetime

import jwt

from stride.identity.adapters.signing_keys import ALGORITHM, SigningKeys
from stride.identity.domain.model import User
from stride.identity.domain.sessions import ACCESS_TOKEN_TTL, Session


class AccessTokenIssuer:
    def __init__(self, keys: SigningKeys, *, issuer: str, audience: str) -> None:
        self._keys, self._issuer, self._audience = keys, issuer, audience

    async def issue(self, user: User, session: Session, now: datetime) -> tuple[str, datetime]:
        """The token and when it expires. Roles are those the user holds in the session's
        studio, so a token never carries more than its scope needs."""
        kid, private_key = await self._keys.current()
        expires_at = now + ACCESS_TOKEN_TTL
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user.id),
            "sid": str(session.id),
            "roles": sorted(user.roles_in(session.studio)),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": str(uuid.uuid4()),
        }
        if session.studio:
            claims["studio"] = session.studio
        token = jwt.encode(
            claims, private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "at+jwt"}
        )
        return token, expires_at
