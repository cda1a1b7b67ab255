"""Password reset and two-step verification, over REST through Envoy."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse
from urllib.request import urlopen

from sqlalchemy import text

from e2e.support import (
    PASSWORD,
    Account,
    Edge,
    Reply,
    call,
    new_account,
    next_event,
    opened_token,
    reason,
    sign_in,
    violations,
)
from stride.identity.adapters.totp import code_at
from stride.identity.config import IdentitySettings
from stride.identity.domain.throttling import FREE_ATTEMPTS
from stride.identity.events.v1.events_pb2 import (
    PasswordResetRequested,
    SessionRevoked,
    UserEmailChanged,
    UserEmailChangeRequested,
)
from stride.platform.db.engine import create_engine

NEW_PASSWORD = "a brand new passphrase"


async def reset_token(
    nats_url: str, prefix: str, user_name: str
) -> tuple[PasswordResetRequested, str]:
    """The reset event, and the token of the link Notifications emails from it."""
    envelope, requested, _ = await next_event(
        nats_url,
        prefix,
        "identity.password_reset.requested.v1",
        PasswordResetRequested,
        lambda event: event.user == user_name,
    )
    assert isinstance(requested, PasswordResetRequested)
    return requested, opened_token(envelope, user_name, requested.email, requested.sealed_token)


async def test_a_password_reset_changes_the_password_and_ends_every_session(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix, languageCode="ar")
    other_device = (await sign_in(edge, account.email)).body["credentials"]
    url = f"{edge.base_url}/v1/users:requestPasswordReset"
    assert (await call("POST", url, {"email": account.email.upper()})).status == 200
    # Unknown emails get the same answer: nothing reveals who has an account.
    assert (await call("POST", url, {"email": f"nobody-{uuid.uuid4()}@example.com"})).status == 200

    requested, token = await reset_token(nats_url, event_prefix, account.name)
    assert requested.language_code == "ar"
    expires = requested.expire_time.ToDatetime(UTC)
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)

    page = await call("GET", f"{edge.base_url}/password-reset?token={token}")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")

    complete = f"{edge.base_url}/v1/users:completePasswordReset"
    weak = await call("POST", complete, {"token": token, "newPassword": "short"})
    assert weak.status == 400
    assert violations(weak) == {"new_password": "field.too_short"}
    done = await call("POST", complete, {"token": token, "newPassword": NEW_PASSWORD})
    assert done.status == 200, done.body
    again = await call("POST", complete, {"token": token, "newPassword": NEW_PASSWORD})
    assert again.status == 400
    assert reason(again) == "RESET_TOKEN_INVALID"

    for refresh_token in (account.refresh_token, other_device["refreshToken"]):
        refreshed = await call(
            "POST", f"{edge.base_url}/v1/sessions:refresh", {"refreshToken": refresh_token}
        )
        assert refreshed.status == 401
    assert (await sign_in(edge, account.email, PASSWORD)).status == 401
    assert (await sign_in(edge, account.email, NEW_PASSWORD)).status == 200
    _, revoked, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.session.revoked.v1",
        SessionRevoked,
        lambda event: event.session == account.session,
    )
    assert revoked.reason == "password_reset"


async def test_a_completed_reset_ends_every_lockout_of_the_account(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    """Strangers locked the email and the member mistyped on their own device: once the
    member proves the address and sets a new password, both open at once."""
    account = await new_account(edge, nats_url, event_prefix)
    device_token = (await sign_in(edge, account.email)).body["deviceToken"]
    for _ in range(FREE_ATTEMPTS["device"]):
        assert (await _sign_in_on_device(edge, account.email, "a typo", device_token)).status == 401
    assert (await _sign_in_on_device(edge, account.email, PASSWORD, device_token)).status == 429
    for _ in range(FREE_ATTEMPTS["account"]):
        assert (await sign_in(edge, account.email, "a stranger's guess")).status == 401
    assert (await sign_in(edge, account.email)).status == 429

    url = f"{edge.base_url}/v1/users:requestPasswordReset"
    assert (await call("POST", url, {"email": account.email})).status == 200
    _, token = await reset_token(nats_url, event_prefix, account.name)
    complete = f"{edge.base_url}/v1/users:completePasswordReset"
    assert (
        await call("POST", complete, {"token": token, "newPassword": NEW_PASSWORD})
    ).status == 200

    assert await _failure_counts(identity_config, account) == []  # Not merely expired.
    assert (await sign_in(edge, account.email, NEW_PASSWORD)).status == 200
    on_device = await _sign_in_on_device(edge, account.email, NEW_PASSWORD, device_token)
    assert on_device.status == 200, on_device.body


async def test_a_completed_reset_removes_a_second_factor_planted_lately(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    """Whoever enrolled TOTP on the account (with a fresh session of it) keeps its owner out
    no longer than a password reset takes."""
    account = await new_account(edge, nats_url, event_prefix)
    enrolled = await call(
        "POST", f"{edge.base_url}/v1/{account.name}:enrollTotp", {}, **account.auth
    )
    code = code_at(enrolled.body["secret"], datetime.now(UTC))
    confirm = f"{edge.base_url}/v1/{account.name}:confirmTotp"
    assert (await call("POST", confirm, {"code": code}, **account.auth)).status == 200
    assert reason(await sign_in(edge, account.email)) == "MFA_REQUIRED"

    url = f"{edge.base_url}/v1/users:requestPasswordReset"
    assert (await call("POST", url, {"email": account.email})).status == 200
    _, token = await reset_token(nats_url, event_prefix, account.name)
    complete = f"{edge.base_url}/v1/users:completePasswordReset"
    assert (
        await call("POST", complete, {"token": token, "newPassword": NEW_PASSWORD})
    ).status == 200
    signed_in = await sign_in(edge, account.email, NEW_PASSWORD)
    assert signed_in.status == 200, signed_in.body


async def _failure_counts(settings: IdentitySettings, account: Account) -> list[str]:
    """The account's and its devices' failure counts still stored."""
    user_id = account.name.removeprefix("users/")
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT key FROM sign_in_failures WHERE key = :account OR key LIKE :devices"),
                {"account": f"account:{account.email}", "devices": f"device:{user_id}:%"},
            )
            return [row.key for row in found]
    finally:
        await engine.dispose()


async def _sign_in_on_device(edge: Edge, email: str, password: str, device_token: str) -> Reply:
    body = {"email": email, "password": password, "deviceToken": device_token}
    return await call("POST", f"{edge.base_url}/v1/sessions:signIn", body)


async def test_the_reset_link_page_speaks_the_account_language(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix, languageCode="ar")
    await call("POST", f"{edge.base_url}/v1/users:requestPasswordReset", {"email": account.email})
    _, token = await reset_token(nats_url, event_prefix, account.name)
    raw = await asyncio.to_thread(_fetch_text, f"{edge.base_url}/password-reset?token={token}")
    assert 'dir="rtl"' in raw
    assert "اختر كلمة مرور جديدة" in raw
    assert f"stride://reset-password?token={token}" in raw
    bogus = await call("GET", f"{edge.base_url}/password-reset?token=not-a-token")
    assert bogus.status == 400
    assert reason(bogus) == "RESET_TOKEN_INVALID"


def _fetch_text(url: str) -> str:
    with urlopen(url, timeout=10) as response:  # noqa: S310 - loopback URL from the test.
        return str(response.read().decode())


async def test_two_step_verification_guards_sign_in(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    stranger = await new_account(edge, nats_url, event_prefix)
    enroll = f"{edge.base_url}/v1/{account.name}:enrollTotp"
    assert (await call("POST", enroll, {}, **stranger.auth)).status == 403
    enrolled = await call("POST", enroll, {}, **account.auth)
    assert enrolled.status == 200, enrolled.body
    uri = urlparse(enrolled.body["otpauthUri"])
    assert uri.scheme == "otpauth"
    secret = parse_qs(uri.query)["secret"][0]
    assert secret == enrolled.body["secret"]
    await _assert_sealed_at_rest(identity_config, account.name, secret)

    confirm = f"{edge.base_url}/v1/{account.name}:confirmTotp"
    wrong = await call("POST", confirm, {"code": "000000"}, **account.auth)
    assert wrong.status == 400
    now = datetime.now(UTC)
    confirmed = await call("POST", confirm, {"code": code_at(secret, now)}, **account.auth)
    assert confirmed.status == 200, confirmed.body
    recovery_codes = confirmed.body["recoveryCodes"]
    assert len(set(recovery_codes)) == 10

    missing = await sign_in(edge, account.email)
    assert missing.status == 400
    assert reason(missing) == "MFA_REQUIRED"
    replayed = await _sign_in_with(edge, account.email, code_at(secret, now))
    assert replayed.status == 401  # The code that confirmed enrolment is spent.
    assert reason(replayed) == "INVALID_MFA_CODE"
    next_code = code_at(secret, now + timedelta(seconds=30))  # Within the drift window.
    assert (await _sign_in_with(edge, account.email, next_code)).status == 200
    assert (await _sign_in_with(edge, account.email, next_code)).status == 401

    typed = recovery_codes[0].lower().replace("-", " ")
    assert (await _sign_in_with(edge, account.email, typed)).status == 200
    assert (await _sign_in_with(edge, account.email, recovery_codes[0])).status == 401

    again = await call("POST", enroll, {}, **account.auth)
    assert again.status == 400
    assert reason(again) == "MFA_ALREADY_ENROLLED"

    disable = f"{edge.base_url}/v1/{account.name}:disableTotp"
    assert (await call("POST", disable, {"code": "000000"}, **account.auth)).status == 400
    assert (await call("POST", disable, {}, **account.auth)).status == 400  # Proof needed.
    turned_off = await call("POST", disable, {"code": recovery_codes[1]}, **account.auth)
    assert turned_off.status == 200, turned_off.body
    assert (await sign_in(edge, account.email)).status == 200  # One factor again.


async def _sign_in_with(edge: Edge, email: str, mfa_code: str) -> Reply:
    body = {"email": email, "password": PASSWORD, "mfaCode": mfa_code}
    return await call("POST", f"{edge.base_url}/v1/sessions:signIn", body)


async def _assert_sealed_at_rest(settings: IdentitySettings, user_name: str, secret: str) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT secret_sealed, data_key_id FROM totp_factors WHERE user_id = :id"),
                    {"id": uuid.UUID(user_name.removeprefix("users/"))},
                )
            ).one()
    finally:
        await engine.dispose()
    assert secret.encode() not in bytes(row.secret_sealed)
    assert row.data_key_id == settings.data_key_active


async def test_an_account_moves_to_a_new_address_only_through_a_link_sent_there(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    taken = await new_account(edge, nats_url, event_prefix)
    change = f"{edge.base_url}/v1/{account.name}:changeEmail"
    new_email = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    wrong = await call(
        "POST", change, {"newEmail": new_email, "password": "not my password"}, **account.auth
    )
    assert wrong.status == 401
    clash = await call(
        "POST", change, {"newEmail": taken.email, "password": PASSWORD}, **account.auth
    )
    assert clash.status == 200  # As for a free address; the owner is told by email.
    asked = await call(
        "POST", change, {"newEmail": new_email, "password": PASSWORD}, **account.auth
    )
    assert asked.status == 200, asked.body
    assert (await sign_in(edge, account.email)).status == 200  # Nothing changed yet.

    envelope, requested, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.user.email_change_requested.v1",
        UserEmailChangeRequested,
        lambda event: event.user == account.name,
    )
    assert requested.new_email == new_email
    token = opened_token(envelope, account.name, new_email, requested.sealed_token)
    confirm = f"{edge.base_url}/v1/users:confirmEmailChange"
    moved = await call("POST", confirm, {"token": token})
    assert moved.status == 200, moved.body
    assert (moved.body["email"], moved.body["emailVerified"]) == (new_email, True)
    assert (await call("POST", confirm, {"token": token})).status == 400
    assert (await sign_in(edge, new_email)).status == 200
    assert (await sign_in(edge, account.email)).status == 401
    _, changed, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.user.email_changed.v1",
        UserEmailChanged,
        lambda event: event.user == account.name,
    )
    assert changed.previous_email == account.email
