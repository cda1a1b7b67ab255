"""Social sign-in against local OpenID Connect providers, over REST through Envoy."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import extract_parameters
from sqlalchemy import text

from e2e.oidc_provider import LocalOidcProvider, running_provider
from e2e.support import (
    Edge,
    Reply,
    bearer,
    call,
    identity_settings,
    new_account,
    next_event,
    reason,
    sign_up_body,
    violations,
)
from stride.identity.adapters.oidc import ProviderConfig
from stride.identity.adapters.totp import code_at
from stride.identity.config import IdentitySettings
from stride.identity.domain.throttling import FREE_ATTEMPTS
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.platform.db.engine import create_engine


@pytest.fixture(scope="module")
def google() -> Iterator[LocalOidcProvider]:
    with running_provider("stride-android.apps.googleusercontent.com") as provider:
        yield provider


@pytest.fixture(scope="module")
def apple() -> Iterator[LocalOidcProvider]:
    with running_provider("app.stride.ios") as provider:
        yield provider


@pytest.fixture(scope="module")
def identity_config(
    database_url: str,
    nats_url: str,
    event_prefix: str,
    google: LocalOidcProvider,
    apple: LocalOidcProvider,
) -> IdentitySettings:
    return identity_settings(
        database_url,
        nats_url,
        event_prefix,
        social_providers={
            "google": ProviderConfig(
                issuer=google.issuer, jwks_uri=google.jwks_uri, client_ids=[google.client_id]
            ),
            "apple": ProviderConfig(
                issuer=apple.issuer,
                jwks_uri=apple.jwks_uri,
                client_ids=[apple.client_id],
                nonce_hashed=True,
            ),
        },
    )


def email() -> str:
    return f"social-{uuid.uuid4().hex[:10]}@example.com"


async def provider_sign_in(
    edge: Edge, provider: str, id_token: str, nonce: str, mfa_code: str = "", **headers: str
) -> Reply:
    body = {"provider": provider, "idToken": id_token, "nonce": nonce}
    if mfa_code:
        body["mfaCode"] = mfa_code
    return await call("POST", f"{edge.base_url}/v1/sessions:signInWithProvider", body, **headers)


async def server_nonce(edge: Edge) -> str:
    """What the app asks Identity for before it starts a provider's sign-in."""
    issued = await call("POST", f"{edge.base_url}/v1/sessions:issueNonce", {})
    assert issued.status == 200, issued.body
    return str(issued.body["nonce"])


def google_token(google: LocalOidcProvider, nonce: str, **claims: Any) -> str:
    """The full code flow, as the app runs it: consent, then exchange the code."""
    code = google.consent(f"g-{uuid.uuid4().hex}", nonce=nonce, **claims)
    return str(google.exchange(code)["id_token"])


async def test_a_first_google_sign_in_creates_a_verified_account(
    edge: Edge, google: LocalOidcProvider, nats_url: str, event_prefix: str
) -> None:
    nonce, address = await server_nonce(edge), email()
    code = google.consent("g-12345", nonce=nonce, email=address, email_verified=True, name="Noor")
    id_token = google.exchange(code)["id_token"]
    first = await provider_sign_in(edge, "google", id_token, nonce, accept_language="ar")
    assert first.status == 200, first.body
    user = first.body["user"]
    assert (user["email"], user["emailVerified"], user["displayName"]) == (address, True, "Noor")
    assert user["languageCode"] == "ar"
    assert first.body["credentials"]["accessToken"]
    _, registered, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.user.registered.v1",
        UserRegistered,
        lambda event: event.user == user["name"],
    )
    assert not registered.HasField("sealed_email_verification_token")  # Google verified it.

    again_nonce = await server_nonce(edge)
    again_code = google.consent("g-12345", nonce=again_nonce, email=address, email_verified=True)
    again = await provider_sign_in(
        edge, "google", google.exchange(again_code)["id_token"], again_nonce
    )
    assert again.body["user"]["name"] == user["name"]


async def test_apple_tokens_carry_the_hashed_nonce(edge: Edge, apple: LocalOidcProvider) -> None:
    nonce = await server_nonce(edge)
    hashed = hashlib.sha256(nonce.encode()).hexdigest()
    code = apple.consent("001234.abcd", nonce=hashed, email=email(), email_verified="true")
    id_token = apple.exchange(code)["id_token"]
    assert (await provider_sign_in(edge, "apple", id_token, "another nonce")).status == 401
    signed_in = await provider_sign_in(edge, "apple", id_token, nonce)
    assert signed_in.status == 200, signed_in.body


async def test_a_verified_provider_email_links_to_the_existing_account(
    edge: Edge, google: LocalOidcProvider, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    nonce = await server_nonce(edge)
    token = google_token(google, nonce, email=account.email.upper(), email_verified=True)
    linked = await provider_sign_in(edge, "google", token, nonce)
    assert linked.status == 200, linked.body
    assert linked.body["user"]["name"] == account.name


async def test_an_unverified_provider_email_never_links(
    edge: Edge, google: LocalOidcProvider, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    nonce = await server_nonce(edge)
    token = google_token(google, nonce, email=account.email, email_verified=False)
    refused = await provider_sign_in(edge, "google", token, nonce)
    assert refused.status == 400
    assert reason(refused) == "PROVIDER_EMAIL_UNVERIFIED"


async def password_hashes(settings: IdentitySettings, *emails: str) -> dict[str, str]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT email, password_hash FROM users WHERE email = ANY(:emails)"),
                {"emails": list(emails)},
            )
            return {row.email: row.password_hash for row in rows}
    finally:
        await engine.dispose()


async def test_an_unverified_provider_email_opens_no_session_and_makes_no_account(
    edge: Edge, google: LocalOidcProvider, identity_config: IdentitySettings
) -> None:
    # Google lets anyone put an address they do not own on an account, unverified.
    nonce, address = await server_nonce(edge), email()
    token = google_token(google, nonce, email=address, email_verified=False)
    refused = await provider_sign_in(edge, "google", token, nonce)
    missing_nonce, missing = await server_nonce(edge), email()
    claims = {"sub": f"g-{uuid.uuid4().hex}", "nonce": missing_nonce, "email": missing}
    unsaid = await provider_sign_in(edge, "google", google.id_token(claims), missing_nonce)

    assert (refused.status, reason(refused)) == (400, "PROVIDER_EMAIL_UNVERIFIED")
    assert (unsaid.status, reason(unsaid)) == (400, "PROVIDER_EMAIL_UNVERIFIED")
    assert "credentials" not in refused.body
    assert await password_hashes(identity_config, address, missing) == {}


async def test_provider_accounts_hold_a_password_hash_as_costly_as_anyone_s(
    edge: Edge,
    google: LocalOidcProvider,
    identity_config: IdentitySettings,
    nats_url: str,
    event_prefix: str,
) -> None:
    """A password sign-in against a provider-only account verifies a real Argon2 hash with the
    parameters of every other account's, so response time does not tell them apart."""
    nonce, address = await server_nonce(edge), email()
    token = google_token(google, nonce, email=address, email_verified=True)
    assert (await provider_sign_in(edge, "google", token, nonce)).status == 200
    member = await new_account(edge, nats_url, event_prefix)

    hashes = await password_hashes(identity_config, address, member.email)

    assert extract_parameters(hashes[address]) == extract_parameters(hashes[member.email])


async def test_an_account_whose_owner_never_verified_is_not_linked(
    edge: Edge, google: LocalOidcProvider
) -> None:
    # Someone pre-registered this address with a password they know; linking would hand the
    # real owner's Google sign-in to them.
    body = sign_up_body()
    await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    nonce = await server_nonce(edge)
    token = google_token(google, nonce, email=body["email"], email_verified=True)
    refused = await provider_sign_in(edge, "google", token, nonce)
    assert refused.status == 400
    assert reason(refused) == "ACCOUNT_EMAIL_UNVERIFIED"


@pytest.mark.parametrize(
    "forgery",
    [
        {"aud": "someone-elses-app"},
        {"iss": "https://accounts.evil.example"},
        {"exp": 1_700_000_000, "iat": 1_699_999_000},
        {"nonce": "a nonce from another sign-in"},
    ],
    ids=["audience", "issuer", "expired", "nonce"],
)
async def test_provider_tokens_wrong_in_any_claim_are_refused(
    edge: Edge, google: LocalOidcProvider, forgery: dict[str, Any]
) -> None:
    nonce = await server_nonce(edge)
    claims = {"sub": "g-forged", "nonce": nonce, "email": email(), "email_verified": True}
    refused = await provider_sign_in(edge, "google", google.id_token(claims, **forgery), nonce)
    assert refused.status == 401
    assert reason(refused) in {"PROVIDER_TOKEN_INVALID", "PROVIDER_NONCE_MISMATCH"}


async def test_tokens_signed_by_another_key_or_unsigned_are_refused(
    edge: Edge, google: LocalOidcProvider
) -> None:
    nonce = await server_nonce(edge)
    claims = {"sub": "g-forged", "nonce": nonce, "email": email(), "email_verified": True}
    impostor = LocalOidcProvider(google.client_id, port=google.port)  # Same issuer, own key.
    payload = google.id_token(claims).split(".")[1]
    unsigned = f"eyJhbGciOiJub25lIn0.{payload}."  # {"alg":"none"}
    for token in (impostor.id_token(claims), unsigned):
        refused = await provider_sign_in(edge, "google", token, nonce)
        assert refused.status == 401
        assert reason(refused) == "PROVIDER_TOKEN_INVALID"


async def test_an_unknown_provider_is_a_field_violation(edge: Edge) -> None:
    refused = await provider_sign_in(edge, "myspace", "x.y.z", "n")
    assert refused.status == 400
    assert violations(refused) == {"provider": "field.invalid_choice"}


async def test_wrong_second_factors_at_social_sign_in_are_throttled(
    edge: Edge, google: LocalOidcProvider
) -> None:
    subject, address = f"g-{uuid.uuid4().hex}", email()

    def token(nonce: str) -> str:
        code = google.consent(subject, nonce=nonce, email=address, email_verified=True)
        return str(google.exchange(code)["id_token"])

    nonce = await server_nonce(edge)
    first = await provider_sign_in(edge, "google", token(nonce), nonce)
    assert first.status == 200, first.body
    user, auth = first.body["user"]["name"], bearer(first.body["credentials"]["accessToken"])
    secret = (await call("POST", f"{edge.base_url}/v1/{user}:enrollTotp", {}, **auth)).body[
        "secret"
    ]
    now = datetime.now(UTC)
    confirm = {"code": code_at(secret, now)}
    confirmed = await call("POST", f"{edge.base_url}/v1/{user}:confirmTotp", confirm, **auth)
    assert confirmed.status == 200, confirmed.body

    for _ in range(FREE_ATTEMPTS["account"]):
        nonce = await server_nonce(edge)
        guess = await provider_sign_in(edge, "google", token(nonce), nonce, "not-a-recovery-code")
        assert guess.status == 401
        assert reason(guess) == "INVALID_MFA_CODE"
    nonce = await server_nonce(edge)
    right_code = code_at(secret, now + timedelta(seconds=30))
    throttled = await provider_sign_in(edge, "google", token(nonce), nonce, right_code)
    assert throttled.status == 429
    assert reason(throttled) == "SIGN_IN_THROTTLED"


async def test_an_id_token_opens_one_session_and_only_with_a_nonce_we_issued(
    edge: Edge, google: LocalOidcProvider
) -> None:
    nonce = await server_nonce(edge)
    token = google_token(google, nonce, email=email(), email_verified=True)
    assert (await provider_sign_in(edge, "google", token, nonce)).status == 200
    replayed = await provider_sign_in(edge, "google", token, nonce)
    assert replayed.status == 401
    assert reason(replayed) == "PROVIDER_NONCE_USED"

    made_up = secrets.token_urlsafe(16)  # Not from IssueSignInNonce: any captured token's.
    captured = google_token(google, made_up, email=email(), email_verified=True)
    refused = await provider_sign_in(edge, "google", captured, made_up)
    assert refused.status == 401
    assert reason(refused) == "PROVIDER_NONCE_INVALID"
