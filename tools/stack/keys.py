"""The local stack's token signing key and the JWKS services verify against.

Until Identity issues tokens itself, the stack holds one Ed25519 key in the data directory and
uses it to mint demo access tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER = "https://identity.stride.local"
AUDIENCE = "stride"


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def key_id(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()[:12]).decode().rstrip("=")


def write_jwks(key: Ed25519PrivateKey, path: Path) -> None:
    public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    document = {"keys": [{**public, "kid": key_id(key), "alg": "EdDSA", "use": "sig"}]}
    path.write_text(json.dumps(document, indent=2))


def mint_access_token(
    key: Ed25519PrivateKey, user_id: str, roles: list[str], ttl_seconds: int = 3600
) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "roles": roles,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_id(key)})
