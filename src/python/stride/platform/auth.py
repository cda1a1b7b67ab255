"""Access-token verification and the authenticated principal.

Envoy verifies access JWTs at the edge; services verify them again (defense in depth), against
Identity's JWKS, so a request that bypasses the edge is no more trusted than one that didn't.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import jwt

from stride.platform.context import ContextScope
from stride.platform.errors import PermissionDenied, Unauthenticated
from stride.platform.verified_tokens import VerifiedTokens

ROLES = frozenset({"member", "instructor", "front_desk", "manager", "admin"})
ALLOWED_ALGORITHMS = ("RS256", "EdDSA")
# RFC 9068 §2.1 and §4: an access token says so in its `typ` header, so an ID token or any other
# JWT signed with the same key is never taken for one.
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their roles in the studio the token is scoped to."""

    user_id: str
    roles: frozenset[str]
    studio: str | None = None
    token_id: str | None = None
    session_id: str | None = None  # Identity's session the token was issued for (`sid`).

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


JwksLoader = Callable[[], Awaitable[Mapping[str, Any]]]


class JwksSource:
    """Signing keys by `kid`, from a JWKS document held in memory, a file, a URL or a loader
    (Identity reads its own key table).

    Files, URLs and loaders are re-read when a token names a `kid` we don't know (a key
    rotation), at most once per `refresh_cooldown` so a flood of forged `kid`s cannot hammer
    the JWKS endpoint.
    """

    def __init__(
        self,
        *,
        document: Mapping[str, Any] | None = None,
        path: Path | None = None,
        url: str | None = None,
        loader: JwksLoader | None = None,
        ttl_seconds: float = 300.0,
        refresh_cooldown: float = 10.0,
    ) -> None:
        if sum(source is not None for source in (document, path, url, loader)) != 1:
            raise ValueError("give exactly one of document, path, url or loader")
        self._path, self._url, self._loader = path, url, loader
        self._ttl, self._cooldown = ttl_seconds, refresh_cooldown
        self._keys: dict[str, tuple[Mapping[str, Any], jwt.PyJWK]] = {}
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        if document is not None:
            self._keys = _parse_jwks(document, {})
            self._loaded_at = float("inf")

    async def key(self, kid: str) -> jwt.PyJWK | None:
        now = time.monotonic()
        stale = now - self._loaded_at > self._ttl
        unknown = kid not in self._keys and now - self._loaded_at > self._cooldown
        if stale or unknown:
            async with self._lock:
                if time.monotonic() - self._loaded_at > min(self._ttl, self._cooldown):
                    document = await (self._loader or self._read_in_thread)()
                    self._keys = _parse_jwks(document, self._keys)
                    self._loaded_at = time.monotonic()
        known = self._keys.get(kid)
        return known[1] if known is not None else None

    async def _read_in_thread(self) -> Mapping[str, Any]:
        return await asyncio.to_thread(self._read)

    def _read(self) -> Mapping[str, Any]:
        if self._path is not None:
            return json.loads(self._path.read_text())  # type: ignore[no-any-return]
        assert self._url is not None  # noqa: S101 - guaranteed by the constructor.
        with urlopen(self._url, timeout=5) as response:  # noqa: S310 - configured https URL.
            return json.loads(response.read())  # type: ignore[no-any-return]


def _parse_jwks(
    document: Mapping[str, Any], known: Mapping[str, tuple[Mapping[str, Any], jwt.PyJWK]]
) -> dict[str, tuple[Mapping[str, Any], jwt.PyJWK]]:
    """Each usable key by `kid`, with the entry it was read from. A key published unchanged
    keeps its object from the last read, so tokens verified with it stay verified
    (`JwtVerifier` takes a token again while its `kid` names the same key object)."""
    keys: dict[str, tuple[Mapping[str, Any], jwt.PyJWK]] = {}
    for entry in document.get("keys", ()):
        if "kid" in entry and entry.get("alg") in ALLOWED_ALGORITHMS:
            kept = known.get(entry["kid"])
            if kept is None or kept[0] != entry:
                kept = (dict(entry), jwt.PyJWK(entry))
            keys[entry["kid"]] = kept
    return keys


class JwtVerifier:
    def __init__(self, keys: JwksSource, *, issuer: str, audience: str) -> None:
        self._keys, self._issuer, self._audience = keys, issuer, audience
        # A token verified before is taken again while the key it was verified with is still
        # the one its `kid` names (a JWKS refresh or a withdrawn key makes it checked afresh).
        self._verified: VerifiedTokens[tuple[Principal, str, jwt.PyJWK]] = VerifiedTokens(
            _LEEWAY_SECONDS
        )

    async def verify(self, token: str) -> Principal:
        verified = self._verified.get(token)
        if verified is not None and await self._keys.key(verified[1]) is verified[2]:
            return verified[0]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise Unauthenticated("TOKEN_INVALID") from error
        algorithm, kid = header.get("alg"), header.get("kid")
        # Checked before any key lookup: `none` and HMAC (e.g. HS256 keyed with our public key)
        # must never reach a verifier.
        if algorithm not in ALLOWED_ALGORITHMS or not isinstance(kid, str):
            raise Unauthenticated("TOKEN_INVALID")
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise Unauthenticated("TOKEN_INVALID")
        key = await self._keys.key(kid)
        if key is None or key.algorithm_name != algorithm:
            raise Unauthenticated("TOKEN_INVALID")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthenticated("TOKEN_EXPIRED") from error
        except jwt.InvalidTokenError as error:
            raise Unauthenticated("TOKEN_INVALID") from error
        principal = _principal(claims)
        self._verified.put(token, (principal, kid, key), claims["exp"])
        return principal


def _principal(claims: Mapping[str, Any]) -> Principal:
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise Unauthenticated("TOKEN_INVALID")
    studio = claims.get("studio")
    return Principal(
        user_id=str(claims["sub"]),
        roles=frozenset(roles) & ROLES,
        studio=studio if isinstance(studio, str) else None,
        token_id=claims.get("jti"),
        session_id=claims.get("sid"),
    )


_CURRENT_PRINCIPAL: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "stride_principal", default=None
)


def authenticated_as(principal: Principal | None) -> ContextScope[Principal | None]:
    """Makes `principal` the caller for the code inside (the auth interceptor uses this)."""
    return ContextScope(_CURRENT_PRINCIPAL, principal)


_CURRENT_CALLER_SERVICE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stride_caller_service", default=None
)


def called_by_service(service: str | None) -> ContextScope[str | None]:
    """Makes `service` the caller of an internal RPC for the code inside (the interceptor sets
    it once the service credential is verified)."""
    return ContextScope(_CURRENT_CALLER_SERVICE, service)


def current_caller_service() -> str:
    """The Stride service calling this internal RPC."""
    service = _CURRENT_CALLER_SERVICE.get()
    if service is None:
        raise Unauthenticated()
    return service


def current_principal() -> Principal:
    principal = _CURRENT_PRINCIPAL.get()
    if principal is None:
        raise Unauthenticated()
    return principal


def require_role(*roles: str) -> Principal:
    principal = current_principal()
    if not principal.has_role(*roles):
        raise PermissionDenied()
    return principal


def require_self_or_role(user_id: str, *roles: str) -> Principal:
    """Ownership check: the caller is `user_id`, or holds one of `roles`."""
    principal = current_principal()
    if principal.user_id != user_id and not principal.has_role(*roles):
        raise PermissionDenied()
    return principal


def require_role_in_studio(studio: str, *roles: str) -> Principal:
    """Staff check: the caller holds one of `roles` in `studio` (`studios/{id}`, the studio
    their token is scoped to), or is an admin, whose role spans every studio."""
    principal = current_principal()
    if principal.has_role("admin"):
        return principal
    if principal.studio != studio or not principal.has_role(*roles):
        raise PermissionDenied()
    return principal
