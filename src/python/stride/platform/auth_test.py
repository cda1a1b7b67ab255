"""Access-token verification against the attacks the edge and every service must reject."""

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from stride.platform.auth import (
    JwksSource,
    JwtVerifier,
    Principal,
    authenticated_as,
    require_role,
    require_self_or_role,
)
from stride.platform.errors import PermissionDenied, Unauthenticated

ISSUER, AUDIENCE = "https://identity.stride.local", "stride"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def jwk(public_key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.OKPAlgorithm
    return {**json.loads(algorithm.to_jwk(public_key)), "kid": kid, "alg": alg, "use": "sig"}


JWKS = {
    "keys": [jwk(RSA_KEY.public_key(), "rsa-1", "RS256"), jwk(ED_KEY.public_key(), "ed-1", "EdDSA")]
}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "roles": ["member"],
        "studio": "studios/s1",
        "iat": now,
        "exp": now + 300,
        "jti": "t1",
        **overrides,
    }


def verifier() -> JwtVerifier:
    return JwtVerifier(JwksSource(document=JWKS), issuer=ISSUER, audience=AUDIENCE)


@pytest.mark.parametrize(
    ("key", "alg", "kid"), [(RSA_KEY, "RS256", "rsa-1"), (ED_KEY, "EdDSA", "ed-1")]
)
async def test_valid_tokens_give_the_principal(key: Any, alg: str, kid: str) -> None:
    token = jwt.encode(claims(), key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})
    assert await verifier().verify(token) == Principal(
        user_id="user-1", roles=frozenset({"member"}), studio="studios/s1", token_id="t1"
    )


def _rsa(payload: dict[str, Any], **header: str | None) -> str:
    """Signed with the trusted RSA key; an access token's header unless `header` says more
    (None drops a header; pyjwt writes `typ: JWT` when `typ` is not given at all)."""
    headers = {"kid": "rsa-1", "typ": "at+jwt", **header}
    if headers["kid"] is None:
        del headers["kid"]
    return jwt.encode(payload, RSA_KEY, algorithm="RS256", headers=headers)


def _unsigned(payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'at+jwt', 'kid': 'rsa-1'})}.{part(payload)}."


def _hs256_with_public_key() -> str:
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"at+jwt","kid":"rsa-1"}')
    header = header.rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    signature = hmac.new(public_pem, header + b"." + body, hashlib.sha256).digest()
    return b".".join([header, body, base64.urlsafe_b64encode(signature).rstrip(b"=")]).decode()


def _tampered() -> str:
    header, _, signature = _rsa(claims()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims(roles=["admin"])).encode()).decode()
    return f"{header}.{forged.rstrip('=')}.{signature}"


ATTACKS = {
    "alg none": _unsigned(claims()),
    "HS256 keyed with the public key": _hs256_with_public_key(),
    "expired": _rsa(claims(exp=int(time.time()) - 120)),
    "not yet valid": _rsa(claims(nbf=int(time.time()) + 600)),
    "wrong audience": _rsa(claims(aud="other")),
    "wrong issuer": _rsa(claims(iss="https://evil")),
    "tampered payload": _tampered(),
    "unknown kid": _rsa(claims(), kid="nope"),
    "no kid": _rsa(claims(), kid=None),
    "kid of another algorithm": _rsa(claims(), kid="ed-1"),
    # Signed by a trusted key but not an access token (RFC 9068 §4): an ID token, say.
    "typ JWT": _rsa(claims(), typ="JWT"),
    "no typ": _rsa(claims(), typ=None),
    "garbage": "not.a.token",
}


@pytest.mark.parametrize("token", ATTACKS.values(), ids=ATTACKS.keys())
async def test_attacks_are_unauthenticated(token: str) -> None:
    with pytest.raises(Unauthenticated):
        await verifier().verify(token)


async def test_expired_tokens_say_so() -> None:
    with pytest.raises(Unauthenticated) as raised:
        await verifier().verify(ATTACKS["expired"])
    assert raised.value.reason == "TOKEN_EXPIRED"


async def test_rotated_keys_are_picked_up_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [JWKS["keys"][0]]}))
    rotating = JwtVerifier(
        JwksSource(path=path, refresh_cooldown=0), issuer=ISSUER, audience=AUDIENCE
    )
    token = jwt.encode(
        claims(), ED_KEY, algorithm="EdDSA", headers={"kid": "ed-1", "typ": "at+jwt"}
    )
    with pytest.raises(Unauthenticated):
        await rotating.verify(token)
    path.write_text(json.dumps(JWKS))  # The new key is published.
    assert (await rotating.verify(token)).user_id == "user-1"


async def test_a_token_verified_before_is_refused_once_its_key_is_withdrawn() -> None:
    published = [JWKS]

    async def load() -> dict[str, Any]:
        return published[0]

    rotating_keys = JwksSource(loader=load, ttl_seconds=0, refresh_cooldown=0)
    rotating = JwtVerifier(rotating_keys, issuer=ISSUER, audience=AUDIENCE)
    token = jwt.encode(
        claims(), ED_KEY, algorithm="EdDSA", headers={"kid": "ed-1", "typ": "at+jwt"}
    )
    assert (await rotating.verify(token)).user_id == "user-1"
    verified_with = await rotating_keys.key("ed-1")
    assert (await rotating.verify(token)).user_id == "user-1"  # Taken again.
    # Read again (every time here), the unchanged key is the same key: the token stays verified.
    assert await rotating_keys.key("ed-1") is verified_with
    published[0] = {"keys": [JWKS["keys"][0]]}  # The Ed25519 key is withdrawn.
    with pytest.raises(Unauthenticated):
        await rotating.verify(token)


def test_ownership_and_role_checks() -> None:
    member = Principal("user-1", frozenset({"member"}))
    with authenticated_as(member):
        assert require_self_or_role("user-1", "admin") is member
        with pytest.raises(PermissionDenied):
            require_self_or_role("user-2", "admin")
        with pytest.raises(PermissionDenied):
            require_role("manager")
    with authenticated_as(Principal("admin-1", frozenset({"admin"}))):
        require_self_or_role("user-2", "admin")
    with pytest.raises(Unauthenticated):
        require_role("member")
