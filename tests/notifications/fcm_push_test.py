"""Pushing through FCM's HTTP v1 API (a local server speaking it, with Google's token endpoint):
what each answer means for the device, and access tokens fetched once and refreshed when revoked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import pytest_asyncio

from stack.fcm import PROJECT_ID, FcmServer, running_fcm, service_account_key
from stride.notifications.adapters.fcm_push import (
    FcmAuthError,
    FcmPush,
    ServiceAccount,
)
from stride.notifications.domain.notifications import SendOutcome
from stride.platform.local.ports import free_port

TITLE, BODY, DATA = "تذكير: اليوغا بعد ساعة", "Yoga starts at 18:00", {"class_id": "42"}


@asynccontextmanager
async def fcm_push(api_base: str, key_json: str) -> AsyncIterator[FcmPush]:
    push = FcmPush(api_base, PROJECT_ID, ServiceAccount.from_json(key_json))
    try:
        yield push
    finally:
        await push.close()


@pytest_asyncio.fixture
async def fcm() -> AsyncIterator[FcmServer]:
    async with running_fcm() as server:
        yield server


@pytest_asyncio.fixture
async def push(fcm: FcmServer) -> AsyncIterator[FcmPush]:
    async with fcm_push(fcm.api_base, fcm.key_json) as pusher:
        yield pusher


async def remind(push: FcmPush, device: str = "device-1") -> SendOutcome:
    return await push.send(device, TITLE, BODY, DATA)


async def test_a_push_arrives_with_its_title_body_and_data(push: FcmPush, fcm: FcmServer) -> None:
    assert await remind(push) is SendOutcome.SENT
    (message,) = fcm.messages
    assert message["token"] == "device-1"
    assert (message["notification"], message["data"]) == ({"title": TITLE, "body": BODY}, DATA)
    assert message["apns"]["payload"]["aps"]["sound"] == "default"  # Audible on iOS too.


async def test_one_access_token_serves_many_sends(push: FcmPush, fcm: FcmServer) -> None:
    for device in ("device-1", "device-2", "device-3"):
        assert await remind(push, device) is SendOutcome.SENT
    assert fcm.tokens_issued == 1


async def test_an_access_token_about_to_expire_is_replaced(push: FcmPush, fcm: FcmServer) -> None:
    fcm.token_lifetime_seconds = 60  # Within the refresh margin from the start.
    assert await remind(push) is SendOutcome.SENT
    assert await remind(push) is SendOutcome.SENT
    assert fcm.tokens_issued == 2


async def test_the_token_of_an_uninstalled_app_is_dead(push: FcmPush, fcm: FcmServer) -> None:
    fcm.dead_tokens.add("device-1")
    assert await remind(push) is SendOutcome.DEAD_TOKEN
    assert fcm.messages == []


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_an_overloaded_fcm_is_retried_later(
    push: FcmPush, fcm: FcmServer, status: int
) -> None:
    fcm.fail_next(1, status)
    assert await remind(push) is SendOutcome.RETRY
    assert await remind(push) is SendOutcome.SENT
    assert len(fcm.messages) == 1


async def test_an_unreachable_fcm_is_retried_later(fcm: FcmServer) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    async with fcm_push(nowhere, fcm.key_json) as push:
        assert await remind(push) is SendOutcome.RETRY


async def test_a_malformed_message_is_refused(push: FcmPush, fcm: FcmServer) -> None:
    assert await remind(push, device="") is SendOutcome.REFUSED
    assert fcm.messages == []


async def test_a_revoked_access_token_is_replaced_once(push: FcmPush, fcm: FcmServer) -> None:
    assert await remind(push) is SendOutcome.SENT
    fcm.revoke_access_tokens()
    assert await remind(push, "device-2") is SendOutcome.SENT
    assert fcm.tokens_issued == 2
    assert [message["token"] for message in fcm.messages] == ["device-1", "device-2"]


async def test_a_key_google_does_not_know_is_refused_at_the_token_endpoint(
    fcm: FcmServer,
) -> None:
    impostor_key, _ = service_account_key(fcm.token_uri)
    async with fcm_push(fcm.api_base, impostor_key) as push:
        with pytest.raises(FcmAuthError, match="invalid_grant"):
            await remind(push)
    assert fcm.tokens_issued == 0
