"""The pages Identity's emailed links open in a browser, fetched through Envoy: their address
carries a credential, so the browser is told to keep it — no cache, no Referer, no framing, and
no script but the page's own."""

from __future__ import annotations

from e2e.link_pages import KEEPS_THE_TOKEN, assert_keeps_its_token, policy
from e2e.support import (
    Edge,
    call,
    new_account,
    next_event,
    opened_token,
    sign_up_body,
    verification_token,
)
from stride.identity.events.v1.events_pb2 import PasswordResetRequested


async def test_the_reset_page_keeps_its_token_to_itself(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    await call("POST", f"{edge.base_url}/v1/users:requestPasswordReset", {"email": account.email})
    envelope, requested, _ = await next_event(
        nats_url,
        event_prefix,
        "identity.password_reset.requested.v1",
        PasswordResetRequested,
        lambda event: event.user == account.name,
    )
    token = opened_token(envelope, account.name, requested.email, requested.sealed_token)
    reply = await call("GET", f"{edge.base_url}/password-reset?token={token}")
    assert_keeps_its_token(reply, token)


async def test_the_verification_page_keeps_its_token_to_itself(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    signed_up = await call("POST", f"{edge.base_url}/v1/users:signUp", sign_up_body())
    token = await verification_token(nats_url, event_prefix, signed_up.body["user"]["name"])
    reply = await call("GET", f"{edge.base_url}/verify-email?token={token}")
    assert_keeps_its_token(reply, token)


async def test_a_dead_verification_link_s_page_runs_no_script(edge: Edge) -> None:
    reply = await call("GET", f"{edge.base_url}/verify-email?token=not-a-token")
    assert reply.status == 200
    assert KEEPS_THE_TOKEN.items() <= reply.headers.items()
    assert policy(reply)["frame-ancestors"] == "'none'"
    assert "<script" not in reply.text
