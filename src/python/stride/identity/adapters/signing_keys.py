"""Identity's access-token signing keys: Ed25519, rotated, private halves sealed at rest.

Rotation never breaks a token in flight or a verifier's cache:
- a new key is published in the JWKS `publish_ahead` before it signs anything, so every cache
  (Envoy's, other services') has it before the first token it signs arrives;
- a superseded key stays published until every token it signed has expired.
During a rotation the JWKS therefore holds two keys (three at most).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from stride.identity.adapters.tables import SigningKeyRecord
from stride.identity.domain.sessions import ACCESS_TOKEN_TTL
from stride.platform.crypto.sealing import DataKeyring, Sealed

ALGORITHM = "EdDSA"
_VERIFIER_LEEWAY = timedelta(minutes=1)
_CACHE_SECONDS = 5.0  # How soon a rotation made by another replica is seen here.
_ROTATION_LOCK = 0x1D3_0001  # pg advisory lock id: one rotation at a time across replicas.


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_jwk: dict[str, Any]
    activates_at: datetime
    sealed_private_key: Sealed


def signing_key_context(kid: str) -> str:
    return f"signing_keys/{kid}"


class SigningKeys:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        data_keys: DataKeyring,
        *,
        publish_ahead: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions, self._data_keys = sessions, data_keys
        self._publish_ahead, self._clock = publish_ahead, clock
        self._keys: list[SigningKey] = []
        self._loaded_at = float("-inf")
        self._private: dict[str, Ed25519PrivateKey] = {}

    async def ensure_key(self) -> None:
        """At start-up: the first replica of a new deployment creates the first key."""
        async with self._sessions() as session, session.begin():
            await session.execute(text(f"SELECT pg_advisory_xact_lock({_ROTATION_LOCK})"))
            if (await session.execute(select(SigningKeyRecord.kid).limit(1))).first() is None:
                await self._create(session, activates_at=self._clock())
        self._loaded_at = float("-inf")

    async def rotate(self) -> SigningKey:
        async with self._sessions() as session, session.begin():
            await session.execute(text(f"SELECT pg_advisory_xact_lock({_ROTATION_LOCK})"))
            key = await self._create(session, activates_at=self._clock() + self._publish_ahead)
        self._loaded_at = float("-inf")
        return key

    async def current(self) -> tuple[str, Ed25519PrivateKey]:
        """The key that signs now: the newest one already active."""
        now = self._clock()
        active = [key for key in await self._load() if key.activates_at <= now]
        if not active:
            raise RuntimeError("no active signing key: ensure_key() was not run")
        key = active[-1]
        if key.kid not in self._private:
            pkcs8 = self._data_keys.open(key.sealed_private_key, signing_key_context(key.kid))
            private = serialization.load_der_private_key(pkcs8, password=None)
            assert isinstance(private, Ed25519PrivateKey)  # noqa: S101 - we only store Ed25519.
            self._private[key.kid] = private
        return key.kid, self._private[key.kid]

    async def jwks(self) -> dict[str, Any]:
        """Every key that signs now, will sign soon, or signed a token that may still be valid."""
        now = self._clock()
        keys = await self._load()
        published = []
        for index, key in enumerate(keys):
            successors = [k for k in keys[index + 1 :] if k.activates_at <= now]
            superseded_at = successors[0].activates_at if successors else None
            if superseded_at is None or now < superseded_at + ACCESS_TOKEN_TTL + _VERIFIER_LEEWAY:
                published.append(key.public_jwk)
        return {"keys": published}

    async def _load(self) -> list[SigningKey]:
        if time.monotonic() - self._loaded_at > _CACHE_SECONDS:
            async with self._sessions() as session:
                records = await session.execute(
                    select(SigningKeyRecord).order_by(col(SigningKeyRecord.activates_at))
                )
                self._keys = [_to_key(record) for record in records.scalars().all()]
            self._loaded_at = time.monotonic()
        return self._keys

    async def _create(self, session: AsyncSession, activates_at: datetime) -> SigningKey:
        kid = secrets.token_urlsafe(12)
        private = Ed25519PrivateKey.generate()
        public_jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key()))
        public_jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
        pkcs8 = private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        sealed = self._data_keys.seal(pkcs8, signing_key_context(kid))
        record = SigningKeyRecord(
            kid=kid,
            algorithm=ALGORITHM,
            public_jwk=json.dumps(public_jwk),
            private_key_sealed=sealed.ciphertext,
            data_key_id=sealed.key_id,
            created_at=self._clock(),
            activates_at=activates_at,
        )
        session.add(record)
        return _to_key(record)


def _to_key(record: SigningKeyRecord) -> SigningKey:
    return SigningKey(
        kid=record.kid,
        public_jwk=json.loads(record.public_jwk),
        activates_at=record.activates_at,
        sealed_private_key=Sealed(record.data_key_id, record.private_key_sealed),
    )
