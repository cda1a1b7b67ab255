"""Service credentials: how one Stride service proves to another which service it is.

Internal RPCs (`stride.api.v1.access` internal) are never routed by the edge and never accept a
member's access token. Instead each service holds an Ed25519 key of its own
(`STRIDE_SERVICE_KEY`, `kid:<base64 private key>`) and signs a short-lived token for each
service it calls: `iss` and `sub` are its catalog name, `aud` the callee's, valid a minute. A
callee trusts the public keys listed in `STRIDE_TRUSTED_SERVICE_KEYS`
(`service:kid:<base64 public key>,...`), each bound to the one service that may sign with it,
so no service can speak as another and no member token (Identity's key, audience `stride`)
passes. Google's self-signed service-account JWTs work the same way; ADR 0010 records why.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from stride.platform.errors import PermissionDenied, Unauthenticated
from stride.platform.verified_tokens import VerifiedTokens

# Header `typ`: never confused with an access token (`at+jwt`).
TOKEN_TYPE = "svc+jwt"  # noqa: S105 - a header value, not a secret.
ALGORITHM = "EdDSA"
LIFETIME_SECONDS = 60
MAX_LIFETIME_SECONDS = 300  # A callee refuses tokens minted to live longer than this.
_RENEW_BEFORE_SECONDS = 15
_LEEWAY_SECONDS = 30

Clock = Callable[[], float]


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not base64") from None


@dataclass(frozen=True)
class ServiceKey:
    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_spec(cls, spec: str) -> ServiceKey:
        """`kid:<base64 of the 32-byte Ed25519 private key>` — STRIDE_SERVICE_KEY."""
        kid, _, encoded = spec.strip().partition(":")
        if not kid or not encoded:
            raise ValueError("a service key is `kid:<base64 private key>`")
        raw = _b64decode(encoded, "the service key")
        return cls(kid, Ed25519PrivateKey.from_private_bytes(raw))

    @property
    def public_spec(self) -> str:
        """`kid:<base64 public key>`, for the callees' STRIDE_TRUSTED_SERVICE_KEYS."""
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return f"{self.kid}:{base64.b64encode(raw).decode()}"


def new_service_key_spec(kid: str) -> str:
    """A fresh STRIDE_SERVICE_KEY value."""
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def trusted_key_entry(service: str, key_spec: str) -> str:
    """The STRIDE_TRUSTED_SERVICE_KEYS entry that lets `service`, signing with the key
    `key_spec`, call internal RPCs."""
    return f"{service}:{ServiceKey.from_spec(key_spec).public_spec}"


class ServiceCredentials:
    """The calling side: bearer metadata proving this service to `audience`, a token cached
    until shortly before it expires."""

    def __init__(self, service: str, key: ServiceKey, clock: Clock = time.time) -> None:
        self._service, self._key, self._clock = service, key, clock
        self._tokens: dict[str, tuple[str, float]] = {}

    def metadata(self, audience: str) -> tuple[tuple[str, str], ...]:
        now = self._clock()
        cached = self._tokens.get(audience)
        if cached is None or cached[1] - _RENEW_BEFORE_SECONDS <= now:
            expires = now + LIFETIME_SECONDS
            token = jwt.encode(
                {
                    "iss": self._service,
                    "sub": self._service,
                    "aud": audience,
                    "iat": int(now),
                    "exp": int(expires),
                    "jti": secrets.token_urlsafe(12),
                },
                self._key.private_key,
                algorithm=ALGORITHM,
                headers={"kid": self._key.kid, "typ": TOKEN_TYPE},
            )
            cached = self._tokens[audience] = (token, expires)
        return (("authorization", f"Bearer {cached[0]}"),)


class ServiceTokenVerifier:
    """The called side: which trusted service signed a token meant for `service`."""

    def __init__(self, service: str, trusted: dict[str, tuple[str, Ed25519PublicKey]]) -> None:
        self._service = service
        self._trusted = trusted  # kid → (the service that signs with it, its public key)
        self._verified: VerifiedTokens[str] = VerifiedTokens(_LEEWAY_SECONDS)  # → the caller

    @classmethod
    def from_spec(cls, service: str, spec: str) -> ServiceTokenVerifier:
        """`service:kid:<base64 public key>,...` — STRIDE_TRUSTED_SERVICE_KEYS."""
        trusted: dict[str, tuple[str, Ed25519PublicKey]] = {}
        for entry in filter(None, (part.strip() for part in spec.split(","))):
            parts = entry.split(":", 2)
            if len(parts) != 3 or not all(parts):
                raise ValueError("a trusted service key is `service:kid:<base64 public key>`")
            caller, kid, encoded = parts
            if kid in trusted:
                raise ValueError(f"service key id {kid!r} is listed twice")
            raw = _b64decode(encoded, f"the public key {kid!r}")
            trusted[kid] = (caller, Ed25519PublicKey.from_public_bytes(raw))
        return cls(service, trusted)

    def verify(self, token: str, callers: frozenset[str]) -> str:
        """The calling service's name, if it is one of `callers`."""
        caller = self._verified.get(token)
        if caller is None:
            caller = self._signer(token)
        if caller not in callers:
            raise PermissionDenied("SERVICE_NOT_ALLOWED")
        return caller

    def _signer(self, token: str) -> str:
        """The trusted service that signed `token` for this service, once every check passed."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise Unauthenticated("SERVICE_TOKEN_INVALID") from error
        if header.get("typ") != TOKEN_TYPE or header.get("alg") != ALGORITHM:
            raise Unauthenticated("SERVICE_TOKEN_INVALID")
        signer = self._trusted.get(str(header.get("kid")))
        if signer is None:
            raise Unauthenticated("SERVICE_TOKEN_INVALID")
        caller, key = signer
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._service,
                issuer=caller,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except jwt.InvalidTokenError as error:
            raise Unauthenticated("SERVICE_TOKEN_INVALID") from error
        lifetime = claims["exp"] - claims["iat"]
        if claims["sub"] != caller or not 0 < lifetime <= MAX_LIFETIME_SECONDS:
            raise Unauthenticated("SERVICE_TOKEN_INVALID")
        self._verified.put(token, caller, claims["exp"])
        return caller
