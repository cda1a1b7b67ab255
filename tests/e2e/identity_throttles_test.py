"""Sign-in throttles over REST through Envoy: attempts counted before the password is checked,
every password check counting alike, and a member's own device getting in while strangers'
failures lock their email.

Every test here signs in from 127.0.0.1, whose address count allows 20 failures an hour: the
module stays under that, so only the keys a test means to lock ever are."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, text

from e2e.support import (
    PASSWORD,
    Edge,
    Reply,
    call,
    details,
    new_account,
    reason,
    sign_in,
)
from stride.identity.adapters.pruning import prune_identity_tables
from stride.identity.config import IdentitySettings
from stride.identity.domain.throttling import FORGET_AFTER, FREE_ATTEMPTS, MAX_DELAY
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.grpc.server import RunningServer

WRONG = "not the password at all"


async def test_parallel_guesses_reach_the_password_check_no_more_than_the_free_attempts(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    free = FREE_ATTEMPTS["account"]
    replies = await asyncio.gather(*(sign_in(edge, account.email, WRONG) for _ in range(2 * free)))
    checked = [reply for reply in replies if reply.status == 401]
    throttled = [reply for reply in replies if reply.status == 429]
    assert len(checked) == free, [reply.status for reply in replies]
    assert len(throttled) == free
    assert {reason(reply) for reply in throttled} == {"SIGN_IN_THROTTLED"}


async def test_wrong_passwords_for_an_email_change_count_like_sign_in(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    change = f"{edge.base_url}/v1/{account.name}:changeEmail"
    body = {"newEmail": f"moved-{uuid.uuid4().hex[:8]}@example.com", "password": WRONG}
    for _ in range(FREE_ATTEMPTS["account"]):
        assert (await call("POST", change, body, **account.auth)).status == 401
    again = await call("POST", change, {**body, "password": PASSWORD}, **account.auth)
    assert again.status == 429
    assert reason(again) == "SIGN_IN_THROTTLED"
    # One count for the account, whichever way the password was tried.
    assert (await sign_in(edge, account.email)).status == 429


async def test_strangers_failures_lock_the_email_but_not_the_members_own_device(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    account = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    device_token = (await sign_in(edge, account.email)).body["deviceToken"]
    others_device = (await sign_in(edge, other.email)).body["deviceToken"]
    for _ in range(FREE_ATTEMPTS["account"]):
        assert (await sign_in(edge, account.email, WRONG)).status == 401
    locked = await sign_in(edge, account.email)  # Any client without the member's token.
    assert locked.status == 429
    # The email's wait is reported as the cap whatever its count: a stranger cannot time the
    # next guess to keep the member out, nor learn how often the member mistyped.
    assert details(locked, "RetryInfo")["retryDelay"] == f"{int(MAX_DELAY.total_seconds())}s"
    with_another_accounts_token = await sign_in_from_device(edge, account.email, others_device)
    assert with_another_accounts_token.status == 429  # A token proves one account's device.

    member = await sign_in_from_device(edge, account.email, device_token)
    assert member.status == 200, member.body
    assert member.body["deviceToken"]  # Kept for the next sign-in.


async def sign_in_from_device(edge: Edge, email: str, device_token: str) -> Reply:
    body = {"email": email, "password": PASSWORD, "deviceToken": device_token}
    return await call("POST", f"{edge.base_url}/v1/sessions:signIn", body)


async def test_forgotten_failure_counts_and_expired_spent_nonces_are_pruned(
    identity: RunningServer, identity_config: IdentitySettings
) -> None:
    """They name emails and addresses, or serve nothing once expired: the periodic job's
    use case deletes them and keeps what still counts."""
    now, tag = datetime.now(UTC), uuid.uuid4().hex
    failures = {f"account:old-{tag}": now - FORGET_AFTER * 2, f"account:new-{tag}": now}
    nonces = {  # By when each expires.
        f"old-{tag}".encode(): now - timedelta(seconds=1),
        f"new-{tag}".encode(): now + timedelta(minutes=5),
    }
    engine = create_engine(identity_config.database_url)
    try:
        async with engine.begin() as connection:
            for key, at in failures.items():
                await connection.execute(
                    text("INSERT INTO sign_in_failures VALUES (:key, 3, :at)"),
                    {"key": key, "at": at},
                )
            for digest, expires in nonces.items():
                await connection.execute(
                    text("INSERT INTO spent_sign_in_nonces VALUES (:digest, :expires)"),
                    {"digest": digest, "expires": expires},
                )
        links_kept = timedelta(seconds=identity_config.account_link_retention_seconds)
        assert await prune_identity_tables(session_factory(engine), now, links_kept) >= 2
        async with engine.connect() as connection:
            kept_keys = await connection.scalars(
                text("SELECT key FROM sign_in_failures WHERE key LIKE :tag"), {"tag": f"%{tag}"}
            )
            kept_nonces = await connection.scalars(
                text(
                    "SELECT nonce_hash FROM spent_sign_in_nonces WHERE nonce_hash IN :digests"
                ).bindparams(bindparam("digests", expanding=True)),
                {"digests": list(nonces)},
            )
            assert list(kept_keys) == [f"account:new-{tag}"]
            assert [bytes(digest) for digest in kept_nonces] == [f"new-{tag}".encode()]
    finally:
        await engine.dispose()
