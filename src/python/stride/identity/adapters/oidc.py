"""Verifies OpenID Connect ID tokens from social sign-in providers (Google, Apple, Facebook).

Each provider is configuration: its issuer, its JWKS URI and the client ids of our apps. Keys
are fetched from the JWKS URI (PyJWKClient, cached, refetched for an unknown `kid`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from pydantic import BaseModel, Field

from stride.platform.errors import FieldViolation, InvalidArgument, Unauthenticated

ALLOWED_ALGORITHMS = ("RS256", "ES256")
_LEEWAY_SECONDS = 30


class ProviderConfig(BaseModel):
    issuer: str
    jwks_uri: str
    client_ids: list[str] = Field(min_length=1)
    # Apple puts SHA-256(nonce) in the token, not the nonce the app generated.
    nonce_hashed: bool = False


@dataclass(frozen=True)
class ExternalIdentity:
    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str


def _invalid_token() -> Unauthenticated:
    return Unauthenticated("PROVIDER_TOKEN_INVALID", "social.token_invalid")


class OidcVerifier:
    def __init__(self, providers: Mapping[str, ProviderConfig]) -> None:
        self._providers = dict(providers)
        self._keys = {
            name: jwt.PyJWKClient(config.jwks_uri, cache_keys=True, lifespan=300, timeout=5)
            for name, config in self._providers.items()
        }

    async def verify(self, provider: str, id_token: str, nonce: str) -> ExternalIdentity:
        config = self._providers.get(provider)
        if config is None:
            choices = ", ".join(sorted(self._providers)) or "-"
            raise InvalidArgument(
                [FieldViolation("provider", "field.invalid_choice", {"choices": choices})]
            )
        claims = await self._verified_claims(provider, config, id_token)
        expected_nonce = (
            hashlib.sha256(nonce.encode()).hexdigest() if config.nonce_hashed else nonce
        )
        if not hmac.compare_digest(str(claims.get("nonce", "")), expected_nonce):
            raise Unauthenticated("PROVIDER_NONCE_MISMATCH", "social.token_invalid")
        email = claims.get("email")
        return ExternalIdentity(
            provider=provider,
            subject=str(claims["sub"]),
            email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
            # Apple sends the string "true"; a missing claim means unverified.
            email_verified=claims.get("email_verified") in (True, "true"),
            name=str(claims.get("name", "")),
        )

    async def _verified_claims(
        self, provider: str, config: ProviderConfig, id_token: str
    ) -> dict[str, Any]:
        try:
            algorithm = jwt.get_unverified_header(id_token).get("alg")
            if algorithm not in ALLOWED_ALGORITHMS:
                raise _invalid_token()
            key = await asyncio.to_thread(self._keys[provider].get_signing_key_from_jwt, id_token)
            return jwt.decode(
                id_token,
                key.key,
                algorithms=[algorithm],
                audience=config.client_ids,
                issuer=config.issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise _invalid_token() from error
