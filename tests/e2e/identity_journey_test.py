"""A member's whole journey over REST through Envoy, and what their sessions allow."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from e2e.support import (
    PASSWORD,
    Edge,
    EdgeFactory,
    bearer,
    call,
    details,
    new_account,
    next_event,
    reason,
    sign_in,
    sign_up_body,
    verification_token,
    violations,
)
from stride.identity.domain.throttling import FIRST_DELAY, MAX_DELAY
from stride.identity.events.v1.events_pb2 import SessionRevoked, UserEmailVerified
from stride.platform.testing.clocks import MovableClock


def claims(access_token: str) -> dict[str, Any]:
    payload = access_token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def test_sign_up_verify_sign_in_call_refresh_sign_out(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    body = sign_up_body()
    signed_up = await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    name = signed_up.body["user"]["name"]

    unverified = await sign_in(edge, body["email"])
    assert unverified.status == 400
    assert reason(unverified) == "EMAIL_NOT_VERIFIED"

    token = await verification_token(nats_url, event_prefix, name)
    verified = await call(
        "POST", f"{edge.base_url}/v1/users:verifyEmail", {"token": token, "password": PASSWORD}
    )
    assert verified.status == 200
    assert verified.body["emailVerified"] is True
    await next_event(
        nats_url,
        event_prefix,
        "identity.user.email_verified.v1",
        UserEmailVerified,
        lambda event: event.user == name,
    )
    again = await call(
        "POST", f"{edge.base_url}/v1/users:verifyEmail", {"token": token, "password": PASSWORD}
    )
    assert again.status == 400
    assert reason(again) == "VERIFICATION_TOKEN_INVALID"

    signed_in = await sign_in(edge, body["email"], user_agent="StrideApp/1.0 (iOS)")
    assert signed_in.status == 200, signed_in.body
    credentials = signed_in.body["credentials"]
    assert credentials["tokenType"] == "Bearer"
    access = claims(credentials["accessToken"])
    assert access["sub"] == name.removeprefix("users/")
    assert access["roles"] == ["member"]
    assert access["exp"] - access["iat"] <= 15 * 60
    assert credentials["session"] == f"{name}/sessions/{access['sid']}"

    me = await call("GET", f"{edge.base_url}/v1/{name}", **bearer(credentials["accessToken"]))
    assert me.status == 200
    assert me.body["email"] == body["email"]

    refreshed = await call(
        "POST",
        f"{edge.base_url}/v1/sessions:refresh",
        {"refreshToken": credentials["refreshToken"]},
    )
    assert refreshed.status == 200, refreshed.body
    renewed = refreshed.body["credentials"]
    assert renewed["refreshToken"] != credentials["refreshToken"]
    assert renewed["session"] == credentials["session"]
    assert claims(renewed["accessToken"])["jti"] != access["jti"]

    signed_out = await call(
        "POST", f"{edge.base_url}/v1/sessions:signOut", {}, **bearer(renewed["accessToken"])
    )
    assert signed_out.status == 200
    after = await call(
        "POST", f"{edge.base_url}/v1/sessions:refresh", {"refreshToken": renewed["refreshToken"]}
    )
    assert after.status == 401
    assert reason(after) == "SESSION_ENDED"
    _, revoked, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.session.revoked.v1",
        SessionRevoked,
        lambda event: event.session == credentials["session"],
    )
    assert revoked.reason == "sign_out"


async def test_a_reused_refresh_token_revokes_the_whole_session(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    stolen = account.refresh_token
    legitimate = await call(
        "POST", f"{edge.base_url}/v1/sessions:refresh", {"refreshToken": stolen}
    )
    assert legitimate.status == 200
    replayed = await call("POST", f"{edge.base_url}/v1/sessions:refresh", {"refreshToken": stolen})
    assert replayed.status == 401
    assert reason(replayed) == "REFRESH_TOKEN_REUSED"
    # The legitimate holder's newer token dies with the family.
    newer = legitimate.body["credentials"]["refreshToken"]
    family = await call("POST", f"{edge.base_url}/v1/sessions:refresh", {"refreshToken": newer})
    assert family.status == 401
    _, revoked, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.session.revoked.v1",
        SessionRevoked,
        lambda event: event.session == account.session,
    )
    assert revoked.reason == "refresh_token_reuse"


async def test_two_concurrent_refreshes_with_one_token_cannot_both_win(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    body = {"refreshToken": account.refresh_token}
    replies = await asyncio.gather(
        *(call("POST", f"{edge.base_url}/v1/sessions:refresh", body) for _ in range(4))
    )
    assert sorted(reply.status for reply in replies) == [200, 401, 401, 401]


async def test_members_list_and_revoke_only_their_own_sessions(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    alice = await new_account(edge, nats_url, event_prefix)
    bob = await new_account(edge, nats_url, event_prefix)
    second = await sign_in(edge, alice.email, user_agent="StrideApp/1.0 (Android)")
    listed = await call("GET", f"{edge.base_url}/v1/{alice.name}/sessions", **alice.auth)
    assert listed.status == 200
    assert [s["name"] for s in listed.body["sessions"]] == [
        second.body["credentials"]["session"],
        alice.session,
    ]
    assert listed.body["sessions"][0]["userAgent"] == "StrideApp/1.0 (Android)"

    sessions = f"{edge.base_url}/v1/{alice.name}/sessions"
    page = await call("GET", f"{sessions}?pageSize=1", **alice.auth)
    token = page.body["nextPageToken"]
    rest = await call("GET", f"{sessions}?pageSize=1&pageToken={token}", **alice.auth)
    assert [s["name"] for s in page.body["sessions"] + rest.body["sessions"]] == [
        s["name"] for s in listed.body["sessions"]
    ]
    assert rest.body.get("nextPageToken", "") == ""
    # A token continues the list it came from: not one with other fields, nor a damaged one.
    other_list = await call(
        "GET", f"{sessions}?pageSize=1&showInactive=true&pageToken={token}", **alice.auth
    )
    damaged = "B" if token[0] == "A" else "A"
    tampered = await call("GET", f"{sessions}?pageToken={damaged}{token[1:]}", **alice.auth)
    for refused in (other_list, tampered):
        assert refused.status == 400
        assert violations(refused) == {"page_token": "page.invalid_token"}

    assert (await call("GET", f"{edge.base_url}/v1/{alice.name}/sessions", **bob.auth)).status == (
        403
    )
    stolen = await call("POST", f"{edge.base_url}/v1/{alice.session}:revoke", {}, **bob.auth)
    assert stolen.status == 403
    # Bob's own user name with Alice's session id: not his session, so not found.
    alice_session_id = alice.session.rsplit("/", 1)[1]
    crafted = await call(
        "POST", f"{edge.base_url}/v1/{bob.name}/sessions/{alice_session_id}:revoke", {}, **bob.auth
    )
    assert crafted.status == 404

    revoked = await call("POST", f"{edge.base_url}/v1/{alice.session}:revoke", {}, **alice.auth)
    assert revoked.status == 200
    assert revoked.body["revokeTime"]
    refresh = await call(
        "POST", f"{edge.base_url}/v1/sessions:refresh", {"refreshToken": alice.refresh_token}
    )
    assert refresh.status == 401


async def test_members_update_only_their_own_profile(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    alice = await new_account(edge, nats_url, event_prefix)
    bob = await new_account(edge, nats_url, event_prefix)
    change = {"displayName": "Alice A.", "phoneNumber": "+966501234567", "languageCode": "ar"}
    mask = "displayName,phoneNumber,languageCode"
    updated = await call(
        "PATCH", f"{edge.base_url}/v1/{alice.name}?updateMask={mask}", change, **alice.auth
    )
    assert updated.status == 200, updated.body
    assert updated.body["displayName"] == "Alice A."
    assert updated.body["phoneNumber"] == "+966501234567"
    assert updated.body["languageCode"] == "ar"
    assert updated.body["timeZone"] == "Asia/Riyadh"  # Not in the mask: untouched.

    other = await call(
        "PATCH", f"{edge.base_url}/v1/{bob.name}?updateMask=displayName", change, **alice.auth
    )
    assert other.status == 403
    email = await call(
        "PATCH",
        f"{edge.base_url}/v1/{alice.name}?updateMask=email",
        {"email": "x@y.z"},
        **alice.auth,
    )
    assert email.status == 400
    assert violations(email) == {"update_mask": "field.not_updatable"}
    bad = await call(
        "PATCH",
        f"{edge.base_url}/v1/{alice.name}?updateMask=phoneNumber,timeZone",
        {"phoneNumber": "0501234567", "timeZone": "Mars/Olympus"},
        **alice.auth,
        accept_language="ar",
    )
    assert bad.status == 400
    assert violations(bad) == {
        "phone_number": "field.invalid_phone",
        "time_zone": "field.invalid_time_zone",
    }
    assert details(bad, "LocalizedMessage")["locale"] == "ar"


async def test_repeated_wrong_passwords_are_throttled_alike_for_unknown_accounts(
    edge: Edge, nats_url: str, event_prefix: str, identity_clock: MovableClock
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    unknown = f"nobody-{account.email}"
    # An unknown email fails and is throttled exactly like a known one: nothing is revealed.
    for email in (account.email, unknown):
        failures = [await sign_in(edge, email, "wrong password!") for _ in range(5)]
        assert {reply.status for reply in failures} == {401}
        assert {reason(reply) for reply in failures} == {"INVALID_CREDENTIALS"}
        blocked = await sign_in(edge, email, account_password(email, account.email))
        assert blocked.status == 429  # Even the right password waits now.
        assert reason(blocked) == "SIGN_IN_THROTTLED"
        # An email's wait is reported as the cap, never its real end (one second here).
        assert details(blocked, "RetryInfo")["retryDelay"] == f"{MAX_DELAY.seconds}s"
    identity_clock.advance(FIRST_DELAY)  # The real delay, passed.
    assert (await sign_in(edge, account.email)).status == 200


def account_password(email: str, known_email: str) -> str:
    return PASSWORD if email == known_email else "any password at all"


async def test_the_edge_rate_limits_auth_routes(
    edges: EdgeFactory, nats_url: str, event_prefix: str
) -> None:
    """Six sign-ups at once against a bucket of three: the edge answers what is over it.
    Bodies Identity refuses at once (400) keep Identity's own throttles out of the count, and
    sending them together keeps the bucket from refilling between them."""
    tight = edges(auth_burst_per_client=3, auth_per_second_per_client=1)
    url = f"{tight.base_url}/v1/users:signUp"
    refused_at_once = {"email": "not an email"}
    replies = await asyncio.gather(*(call("POST", url, refused_at_once) for _ in range(6)))
    statuses = sorted(reply.status for reply in replies)
    assert statuses.count(400) >= 3  # The burst reached Identity.
    limited = [reply for reply in replies if reply.status == 429]
    assert limited
    assert statuses == [400] * (6 - len(limited)) + [429] * len(limited)
    assert {reason(reply) for reply in limited} == {"RATE_LIMITED"}
