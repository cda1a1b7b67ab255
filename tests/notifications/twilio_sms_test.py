"""Twilio's adapter against a local server speaking Twilio's Messages API: what its answers
mean."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from stack.twilio import ACCOUNT_SID, SENDER, TwilioServer, running_twilio
from stride.notifications.adapters.twilio_sms import TwilioSms
from stride.notifications.domain.notifications import DeliveryState, SendOutcome, Sms
from stride.platform.local.ports import free_port


@pytest_asyncio.fixture(scope="module")
async def twilio() -> AsyncIterator[TwilioServer]:
    async with running_twilio() as server:
        yield server


def text(to: str) -> Sms:
    body = "أُلغيت الحصة\nألغى الاستوديو حصتك."
    return Sms(uuid.uuid4(), uuid.uuid4(), to, body, DeliveryState.SENDING, 0, datetime.now(UTC))


async def send(twilio: TwilioServer, sms: Sms, auth_token: str | None = None) -> SendOutcome:
    texter = TwilioSms(twilio.api_base, ACCOUNT_SID, auth_token or twilio.auth_token, SENDER)
    try:
        return await texter.send(sms)
    finally:
        await texter.close()


async def test_a_text_is_taken_as_written(twilio: TwilioServer) -> None:
    sms = text("+966501234567")
    assert await send(twilio, sms) is SendOutcome.SENT
    assert twilio.messages[-1]["to"] == "+966501234567"
    assert twilio.messages[-1]["body"] == sms.body  # Arabic and the line break intact.


@pytest.mark.parametrize(
    ("to", "outcome"),
    [("966501234567", SendOutcome.REFUSED), ("+966500000000", SendOutcome.REFUSED)],
)
async def test_a_bad_or_unsubscribed_number_is_refused_for_good(
    twilio: TwilioServer, to: str, outcome: SendOutcome
) -> None:
    twilio.unsubscribed.add("+966500000000")  # Texted STOP.
    assert await send(twilio, text(to)) is outcome


async def test_busy_unreachable_or_refused_credentials_are_tried_again(
    twilio: TwilioServer,
) -> None:
    twilio.fail_next(1, status=429)
    busy = await send(twilio, text("+966501234567"))
    wrong_key = await send(twilio, text("+966501234567"), auth_token="not-the-token")
    nowhere = TwilioSms(f"http://127.0.0.1:{free_port()}", ACCOUNT_SID, "t", SENDER)
    try:
        unreachable = await nowhere.send(text("+966501234567"))
    finally:
        await nowhere.close()
    assert (busy, wrong_key, unreachable) == (SendOutcome.RETRY,) * 3


async def test_twilio_s_errors_are_logged_without_the_number(
    twilio: TwilioServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="stride.notifications.sms")
    outcome = await send(twilio, text("966501234567"))  # Twilio's message quotes the number.
    assert outcome is SendOutcome.REFUSED
    assert "21211" in caplog.text  # The error's code says what went wrong.
    assert "966501234567" not in caplog.text
