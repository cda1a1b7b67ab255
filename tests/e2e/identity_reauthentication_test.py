"""Changing the second factor over REST through Envoy takes the password once the sign-in is
not fresh, and the code that turns it off is throttled like a password.

One test: it moves Identity's clock past the re-authentication window, and tokens issued
after that would not be valid yet at the edge, which keeps the real time."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from e2e.support import PASSWORD, Edge, call, new_account, reason
from stride.identity.adapters.totp import code_at
from stride.identity.domain.mfa import REAUTHENTICATION_WINDOW
from stride.identity.domain.throttling import FREE_ATTEMPTS
from stride.platform.testing.clocks import MovableClock


async def test_a_stolen_token_cannot_change_the_second_factor_and_its_code_is_throttled(
    edge: Edge, nats_url: str, event_prefix: str, identity_clock: MovableClock
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    identity_clock.advance(REAUTHENTICATION_WINDOW + timedelta(seconds=1))
    enroll = f"{edge.base_url}/v1/{account.name}:enrollTotp"
    # The access token is still valid, but its session signed in too long ago.
    token_alone = await call("POST", enroll, {}, **account.auth)
    assert token_alone.status == 400
    assert reason(token_alone) == "REAUTHENTICATION_REQUIRED"
    guessed = await call("POST", enroll, {"password": "a guessed password"}, **account.auth)
    assert guessed.status == 401
    enrolled = await call("POST", enroll, {"password": PASSWORD}, **account.auth)
    assert enrolled.status == 200, enrolled.body
    secret = parse_qs(urlparse(enrolled.body["otpauthUri"]).query)["secret"][0]

    confirm = f"{edge.base_url}/v1/{account.name}:confirmTotp"
    code = code_at(secret, identity_clock())
    assert (await call("POST", confirm, {"code": code}, **account.auth)).status == 400
    body = {"code": code, "password": PASSWORD}
    confirmed = await call("POST", confirm, body, **account.auth)
    assert confirmed.status == 200, confirmed.body

    disable = f"{edge.base_url}/v1/{account.name}:disableTotp"
    next_code = code_at(secret, identity_clock() + timedelta(seconds=30))
    without_password = await call("POST", disable, {"code": next_code}, **account.auth)
    assert reason(without_password) == "REAUTHENTICATION_REQUIRED"
    for _ in range(FREE_ATTEMPTS["account"]):
        guess = {"code": "wrong-recovery-code", "password": PASSWORD}
        assert (await call("POST", disable, guess, **account.auth)).status == 400
    right = await call("POST", disable, {"code": next_code, "password": PASSWORD}, **account.auth)
    assert right.status == 429
    assert reason(right) == "SIGN_IN_THROTTLED"
