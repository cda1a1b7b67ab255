"""Service credentials: what one service signs, which other services accept, and nothing else."""

from __future__ import annotations

import re
import time

import jwt
import pytest

from stride.platform.errors import PermissionDenied, Unauthenticated
from stride.platform.service_credentials import (
    LIFETIME_SECONDS,
    ServiceCredentials,
    ServiceKey,
    ServiceTokenVerifier,
    new_service_key_spec,
    trusted_key_entry,
)

SCHEDULING = new_service_key_spec("scheduling-1")
BILLING = new_service_key_spec("billing-1")
BILLING_TRUSTS = ServiceTokenVerifier.from_spec(
    "billing",
    ",".join([trusted_key_entry("scheduling", SCHEDULING), trusted_key_entry("billing", BILLING)]),
)
ANYONE = frozenset({"scheduling", "billing"})


def token_of(credentials: ServiceCredentials, audience: str = "billing") -> str:
    ((_, value),) = credentials.metadata(audience)
    return value.removeprefix("Bearer ")


def test_a_service_is_who_its_key_says() -> None:
    token = token_of(ServiceCredentials("scheduling", ServiceKey.from_spec(SCHEDULING)))
    assert BILLING_TRUSTS.verify(token, ANYONE) == "scheduling"
    with pytest.raises(PermissionDenied):
        BILLING_TRUSTS.verify(token, frozenset({"notifications"}))


def test_tokens_are_reused_until_shortly_before_they_expire() -> None:
    now = [1_000_000.0]
    credentials = ServiceCredentials("scheduling", ServiceKey.from_spec(SCHEDULING), lambda: now[0])
    first = token_of(credentials)
    now[0] += LIFETIME_SECONDS / 2
    assert token_of(credentials) == first
    assert token_of(credentials, "notifications") != first  # One per audience.
    now[0] += LIFETIME_SECONDS / 2
    assert token_of(credentials) != first


def forged(key_spec: str, **changes: object) -> str:
    """A token signed with `key_spec`, its claims and header changed as given."""
    key = ServiceKey.from_spec(key_spec)
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "scheduling",
        "sub": "scheduling",
        "aud": "billing",
        "iat": now,
        "exp": now + 60,
    }
    header: dict[str, object] = {"kid": key.kid, "typ": "svc+jwt"}
    for name, value in changes.items():
        (header if name in ("kid", "typ") else claims)[name] = value
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers=header)


ATTACKS = {
    "another service's name with one's own key": forged(BILLING, iss="scheduling"),
    "a subject other than the issuer": forged(SCHEDULING, sub="billing"),
    "meant for another service": forged(SCHEDULING, aud="notifications"),
    "expired": forged(SCHEDULING, iat=int(time.time()) - 600, exp=int(time.time()) - 300),
    "minted to live for a day": forged(SCHEDULING, exp=int(time.time()) + 86_400),
    "an unknown key": forged(new_service_key_spec("scheduling-1")),
    "an access token's type": forged(SCHEDULING, typ="at+jwt"),
    "garbage": "not.a.token",
}


@pytest.mark.parametrize("token", ATTACKS.values(), ids=ATTACKS.keys())
def test_anything_else_is_unauthenticated(token: str) -> None:
    with pytest.raises(Unauthenticated):
        BILLING_TRUSTS.verify(token, ANYONE)


PUBLIC = ServiceKey.from_spec(SCHEDULING).public_spec  # `kid:<base64 public key>`
BAD_TRUST_LISTS = {
    "no key": ("scheduling:k1", "is `service:kid:<base64 public key>`"),
    "no service": (PUBLIC, "is `service:kid:<base64 public key>`"),
    "not base64": ("scheduling:k1:not base64!", "not base64"),
    "not a key": ("scheduling:k1:QUJD", "32 bytes"),
    "one key id for two services": (f"scheduling:{PUBLIC},billing:{PUBLIC}", "listed twice"),
}


@pytest.mark.parametrize(("spec", "why"), BAD_TRUST_LISTS.values(), ids=BAD_TRUST_LISTS.keys())
def test_bad_trust_lists_are_refused_at_start(spec: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        ServiceTokenVerifier.from_spec("billing", spec)
