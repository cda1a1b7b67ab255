"""Accounts against squatting, enumeration and a hijacked email change (issue 12, items 7-9),
over REST through Envoy with real Postgres and NATS: an address's owner takes over an account
someone else opened with it, sign-up and email changes answer alike whether or not an address
has an account (its owner is told by email instead), and the previous address takes a moved
account back."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import text

from e2e.link_pages import assert_keeps_its_token
from e2e.support import (
    PASSWORD,
    Account,
    Edge,
    bearer,
    call,
    new_account,
    next_event,
    opened_token,
    reason,
    sign_in,
    sign_up_body,
    verification_token,
)
from stride.identity.config import IdentitySettings
from stride.identity.events.v1.events_pb2 import (
    PasswordResetRequested,
    SessionRevoked,
    UserEmailChanged,
    UserEmailChangeRequested,
    UserEmailChangeReverted,
    UserEmailReuseAttempted,
    UserEmailVerificationRequested,
)
from stride.platform.db.engine import create_engine

OWNER_PASSWORD = "the owner's own passphrase"


async def sign_up(edge: Edge, body: dict[str, str]) -> dict[str, Any]:
    signed_up = await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    assert signed_up.status == 200, signed_up.body
    return dict(signed_up.body)


async def verification_link_token(
    nats_url: str, prefix: str, user_name: str, *, nth: int = 1
) -> str:
    """The token of the `nth` link `user.email_verification_requested` sent the account."""
    seen: list[int] = []

    def matches(event: UserEmailVerificationRequested) -> bool:
        if event.user != user_name:
            return False
        seen.append(1)
        return len(seen) == nth

    envelope, requested, _ = await next_event(
        nats_url,
        prefix,
        "identity.user.email_verification_requested.v1",
        UserEmailVerificationRequested,
        matches,
    )
    return opened_token(envelope, user_name, requested.email, requested.sealed_token)


async def identity_rows(
    settings: IdentitySettings, query: str, **params: object
) -> list[tuple[Any, ...]]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(query), params)]
    finally:
        await engine.dispose()


async def test_signing_up_with_a_taken_address_answers_as_a_free_one_and_tells_its_owner(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    owner = await new_account(edge, nats_url, event_prefix)
    free = await sign_up(edge, sign_up_body())
    taken = await sign_up(edge, sign_up_body(email=owner.email.upper()))

    _, attempted, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.user.email_reuse_attempted.v1",
        UserEmailReuseAttempted,
        lambda event: event.user == owner.name,
    )
    assert taken.keys() == free.keys()
    taken_user, free_user = taken["user"], free["user"]
    assert taken_user.keys() == free_user.keys()
    assert taken_user["name"] != owner.name
    assert (taken_user["email"], taken_user["emailVerified"]) == (owner.email, False)
    assert (attempted.email, attempted.attempt) == (
        owner.email,
        UserEmailReuseAttempted.ATTEMPT_SIGN_UP,
    )
    assert (await sign_in(edge, owner.email)).status == 200  # The account is untouched.


async def reset_link_token(nats_url: str, prefix: str, user_name: str) -> str:
    """The token of the password-reset link `password_reset.requested` sent the account."""
    envelope, requested, _ = await next_event(
        nats_url,
        prefix,
        "identity.password_reset.requested.v1",
        PasswordResetRequested,
        lambda event: event.user == user_name,
    )
    return opened_token(envelope, user_name, requested.email, requested.sealed_token)


async def test_the_address_s_owner_takes_over_an_account_opened_with_it_by_signing_up(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    squatted = sign_up_body(phoneNumber="+966501234567")
    squatter = await sign_up(edge, squatted)
    squatter_name = str(squatter["user"]["name"])
    owner_body = sign_up_body(email=squatted["email"], password=OWNER_PASSWORD)
    await sign_up(edge, owner_body)

    # The owner's sign-up sent the address a reset link, in which the owner sets a password.
    token = await reset_link_token(nats_url, event_prefix, squatter_name)
    done = await call(
        "POST",
        f"{edge.base_url}/v1/users:completePasswordReset",
        {"token": token, "newPassword": OWNER_PASSWORD},
    )
    assert done.status == 200, done.body
    owner = await sign_in(edge, squatted["email"], OWNER_PASSWORD)
    assert owner.status == 200
    assert (await sign_in(edge, squatted["email"], PASSWORD)).status == 401
    token = owner.body["credentials"]["accessToken"]
    account = await call("GET", f"{edge.base_url}/v1/{squatter_name}", **bearer(token))
    assert account.body["emailVerified"] is True
    assert account.body.get("phoneNumber", "") == ""  # The squatter's number is gone.


async def test_signing_up_again_never_sets_the_password_of_an_account(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    """A member who signed up and has not yet opened the welcome email keeps their password
    whatever a stranger signing up with their address chose: opening any link the address
    was sent leaves the stranger's password useless."""
    body = sign_up_body(password=OWNER_PASSWORD)
    member_name = str((await sign_up(edge, body))["user"]["name"])
    await sign_up(edge, sign_up_body(email=body["email"]))  # A stranger, with PASSWORD.

    # What the stranger's sign-up sent the address is a link that asks for a new password.
    await reset_link_token(nats_url, event_prefix, member_name)
    welcome = await verification_token(nats_url, event_prefix, member_name)
    verify = {"token": welcome, "password": OWNER_PASSWORD}
    verified = await call("POST", f"{edge.base_url}/v1/users:verifyEmail", verify)

    assert verified.status == 200, verified.body
    assert (await sign_in(edge, body["email"], OWNER_PASSWORD)).status == 200
    assert (await sign_in(edge, body["email"], PASSWORD)).status == 401


async def test_the_owner_opening_a_squatter_s_welcome_link_does_not_verify_its_account(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    squatted = sign_up_body()  # The squatter's password is PASSWORD.
    squatter_name = str((await sign_up(edge, squatted))["user"]["name"])
    token = await verification_token(nats_url, event_prefix, squatter_name)

    page = await call("GET", f"{edge.base_url}/verify-email?token={token}")  # Or a scanner.
    after_opening = await sign_in(edge, squatted["email"])
    verify = {"token": token, "password": OWNER_PASSWORD}  # The owner cannot know the other.
    guessed = await call("POST", f"{edge.base_url}/v1/users:verifyEmail", verify)
    after_guessing = await sign_in(edge, squatted["email"])

    assert page.status == 200
    for refused in (after_opening, after_guessing):
        assert (refused.status, reason(refused)) == (400, "EMAIL_NOT_VERIFIED")
    assert (guessed.status, reason(guessed)) == (401, "INVALID_CREDENTIALS")


async def test_a_password_reset_proves_the_address_and_ends_the_squatter_s_password(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    squatted = sign_up_body()
    squatter_name = str((await sign_up(edge, squatted))["user"]["name"])
    url = f"{edge.base_url}/v1/users:requestPasswordReset"
    assert (await call("POST", url, {"email": squatted["email"]})).status == 200
    envelope, requested, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.password_reset.requested.v1",
        PasswordResetRequested,
        lambda event: event.user == squatter_name,
    )
    token = opened_token(envelope, squatter_name, requested.email, requested.sealed_token)
    done = await call(
        "POST",
        f"{edge.base_url}/v1/users:completePasswordReset",
        {"token": token, "newPassword": OWNER_PASSWORD},
    )

    assert done.status == 200, done.body
    assert (await sign_in(edge, squatted["email"], OWNER_PASSWORD)).status == 200
    assert (await sign_in(edge, squatted["email"], PASSWORD)).status == 401


async def test_a_verification_link_is_sent_again_a_few_times_an_hour_and_to_no_one_else(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    body = sign_up_body()
    user_name = str((await sign_up(edge, body))["user"]["name"])
    resend = f"{edge.base_url}/v1/users:resendEmailVerification"
    verified = await new_account(edge, nats_url, event_prefix)
    replies = [await call("POST", resend, {"email": body["email"]}) for _ in range(4)]
    others = [
        await call("POST", resend, {"email": f"nobody-{uuid.uuid4().hex}@example.com"}),
        await call("POST", resend, {"email": verified.email}),
    ]
    links = await identity_rows(
        identity_config,
        "SELECT user_id FROM email_verifications WHERE user_id = ANY(CAST(:ids AS uuid[]))",
        ids=[user_name.removeprefix("users/"), verified.name.removeprefix("users/")],
    )
    token = await verification_link_token(nats_url, event_prefix, user_name, nth=2)
    verify = {"token": token, "password": PASSWORD}
    opened = await call("POST", f"{edge.base_url}/v1/users:verifyEmail", verify)

    assert {reply.status for reply in replies + others} == {200}
    by_user = [str(user_id) for (user_id,) in links]
    assert by_user.count(user_name.removeprefix("users/")) == 3  # Sign-up's and two more.
    assert by_user.count(verified.name.removeprefix("users/")) == 1  # Its sign-up's only.
    assert opened.status == 200, opened.body
    assert (await sign_in(edge, body["email"])).status == 200


async def change_email(account: Account, edge: Edge, new_email: str) -> int:
    reply = await call(
        "POST",
        f"{edge.base_url}/v1/{account.name}:changeEmail",
        {"newEmail": new_email, "password": PASSWORD},
        **account.auth,
    )
    return reply.status


async def test_moving_to_a_taken_address_answers_as_a_free_one_and_tells_its_owner(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    owner = await new_account(edge, nats_url, event_prefix)

    taken = await change_email(account, edge, owner.email)
    free = await change_email(account, edge, f"free-{uuid.uuid4().hex[:8]}@example.com")
    _, attempted, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.user.email_reuse_attempted.v1",
        UserEmailReuseAttempted,
        lambda event: event.user == owner.name,
    )

    assert taken == free == 200
    assert attempted.attempt == UserEmailReuseAttempted.ATTEMPT_EMAIL_CHANGE
    assert attempted.email == owner.email


async def confirmed_move(edge: Edge, nats_url: str, prefix: str, account: Account) -> str:
    """Moves the account to a new address through the link sent there; the address."""
    new_email = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    assert await change_email(account, edge, new_email) == 200
    envelope, requested, _ = await next_event(
        nats_url,
        prefix,
        "identity.user.email_change_requested.v1",
        UserEmailChangeRequested,
        lambda event: event.user == account.name and event.new_email == new_email,
    )
    token = opened_token(envelope, account.name, new_email, requested.sealed_token)
    moved = await call("POST", f"{edge.base_url}/v1/users:confirmEmailChange", {"token": token})
    assert moved.status == 200, moved.body
    return new_email


async def test_the_previous_address_takes_a_moved_account_back_and_ends_every_session(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix, languageCode="ar")
    new_email = await confirmed_move(edge, nats_url, event_prefix, account)
    hijacker = (await sign_in(edge, new_email)).body["credentials"]
    envelope, changed, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.user.email_changed.v1",
        UserEmailChanged,
        lambda event: event.user == account.name,
    )
    token = opened_token(envelope, account.name, account.email, changed.sealed_revert_token)

    page = await call("GET", f"{edge.base_url}/revert-email-change?token={token}")
    still_moved = await sign_in(edge, new_email)  # Opening the page changed nothing.
    revert = f"{edge.base_url}/v1/users:revertEmailChange"
    reverted = await call("POST", revert, {"token": token})
    again = await call("POST", revert, {"token": token})

    assert_keeps_its_token(page, token)
    assert still_moved.status == 200
    assert reverted.status == 200, reverted.body
    assert (again.status, reason(again)) == (400, "EMAIL_REVERT_TOKEN_INVALID")
    assert (await sign_in(edge, account.email)).status == 200
    assert (await sign_in(edge, new_email)).status == 401
    for refresh_token in (account.refresh_token, hijacker["refreshToken"]):
        refreshed = await call(
            "POST", f"{edge.base_url}/v1/sessions:refresh", {"refreshToken": refresh_token}
        )
        assert refreshed.status == 401
    _, back, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.user.email_change_reverted.v1",
        UserEmailChangeReverted,
        lambda event: event.user == account.name,
    )
    assert (back.email, back.reverted_email) == (account.email, new_email)
    _, revoked, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.session.revoked.v1",
        SessionRevoked,
        lambda event: event.session == account.session,
    )
    assert revoked.reason == "email_change_reverted"


async def test_a_password_reset_cancels_pending_email_changes(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    new_email = f"pending-{uuid.uuid4().hex[:8]}@example.com"
    assert await change_email(account, edge, new_email) == 200
    change_envelope, requested, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.user.email_change_requested.v1",
        UserEmailChangeRequested,
        lambda event: event.user == account.name,
    )
    change_token = opened_token(change_envelope, account.name, new_email, requested.sealed_token)
    url = f"{edge.base_url}/v1/users:requestPasswordReset"
    assert (await call("POST", url, {"email": account.email})).status == 200
    envelope, reset, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.password_reset.requested.v1",
        PasswordResetRequested,
        lambda event: event.user == account.name,
    )
    reset_token = opened_token(envelope, account.name, account.email, reset.sealed_token)
    done = await call(
        "POST",
        f"{edge.base_url}/v1/users:completePasswordReset",
        {"token": reset_token, "newPassword": OWNER_PASSWORD},
    )

    confirmed = await call(
        "POST", f"{edge.base_url}/v1/users:confirmEmailChange", {"token": change_token}
    )

    assert done.status == 200, done.body
    assert (confirmed.status, reason(confirmed)) == (400, "EMAIL_CHANGE_TOKEN_INVALID")
    assert (await sign_in(edge, account.email, OWNER_PASSWORD)).status == 200


async def test_sign_ups_racing_for_one_address_all_answer_alike(
    edge: Edge, identity_config: IdentitySettings
) -> None:
    """The unique index settles the race without telling the losers the address is taken."""
    address = f"race-{uuid.uuid4().hex[:10]}@example.com"
    replies = await asyncio.gather(
        *(
            call("POST", f"{edge.base_url}/v1/users:signUp", sign_up_body(email=address))
            for _ in range(6)
        )
    )
    accounts = await identity_rows(
        identity_config, "SELECT id FROM users WHERE email = :email", email=address
    )

    assert [reply.status for reply in replies] == [200] * 6
    assert len(accounts) == 1
