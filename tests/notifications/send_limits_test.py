"""What members (or anyone filling in a form) can make Stride send, against the local Twilio
stand-in and a real SMTP server (aiosmtpd): texts go only to a number its owner verified, in
a country Stride texts and never on a premium-rate range, within daily caps per member and per
number; Identity's emails to one address are capped per hour; and a display name reaches an
email as plain words."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from typing import cast

import pytest
import pytest_asyncio

from notifications.support import (
    EVENT_SECRETS,
    Mailbox,
    member,
    password_reset,
    with_verified_number,
)
from stack.twilio import ACCOUNT_SID, SENDER, TwilioServer, running_twilio
from stride.billing.events.v1.events_pb2 import PaymentChanged
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.notifications.adapters.smtp_email import SmtpEmail
from stride.notifications.adapters.templates import Templates
from stride.notifications.adapters.twilio_sms import TwilioSms
from stride.notifications.domain.limits import PHONE_CODE_ATTEMPTS, SendLimits
from stride.notifications.service_layer import events, members, phones, sending
from stride.notifications.service_layer.commands import SendPhoneCode, VerifyPhoneNumber
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import authenticated_as
from stride.platform.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from stride.platform.events.envelope import make_envelope
from stride.platform.events.secrets import seal_secret

NOW = datetime(2027, 7, 1, 9, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def twilio() -> AsyncIterator[TwilioServer]:
    async with running_twilio() as server:
        yield server


def saudi_mobile() -> str:
    """A number of this test's own, so counts from other tests never reach it."""
    return f"+9665{random.randrange(10**7, 10**8)}"  # noqa: S311 - not a secret.


def texts_to(twilio: TwilioServer, number: str) -> list[str]:
    return [str(m["body"]) for m in twilio.messages if m["to"] == number]


async def send_texts(
    new_uow: partial[NotificationsUnitOfWork], twilio: TwilioServer, at: datetime = NOW
) -> None:
    texter = TwilioSms(twilio.api_base, ACCOUNT_SID, twilio.auth_token, SENDER)
    try:
        await sending.send_due_texts(new_uow, texter, clock=lambda: at)
    finally:
        await texter.close()


async def declined(
    new_uow: partial[NotificationsUnitOfWork], user: uuid.UUID, at: datetime = NOW
) -> None:
    """Billing's `payment.failed` for a purchase: one card declined."""
    failed = PaymentChanged(
        member=f"users/{user}", purchase=f"users/{user}/purchases/{uuid.uuid4()}"
    )
    event = make_envelope(
        source="billing",
        event_type="billing.payment.failed.v1",
        subject=failed.purchase,
        payload=failed,
    )
    async with new_uow() as uow:
        await events.on_payment_failed(event, uow, clock=lambda: at)
        await uow.commit()


async def test_a_number_nobody_verified_gets_no_text(
    new_uow: partial[NotificationsUnitOfWork], twilio: TwilioServer
) -> None:
    user, number = uuid.uuid4(), saudi_mobile()
    with authenticated_as(member(user)):
        await members.update_preferences(new_uow(), user, {"phone_number": number})
    await declined(new_uow, user)
    await send_texts(new_uow, twilio)
    assert texts_to(twilio, number) == []

    await with_verified_number(new_uow, twilio, user, number, clock=lambda: NOW)
    await declined(new_uow, user)
    await send_texts(new_uow, twilio)
    code, payment = texts_to(twilio, number)
    assert re.search("Your Stride code is [0-9]{6}", code)
    assert payment.startswith("Payment didn't go through")

    changed = saudi_mobile()  # A new number is not texted until it is verified in turn.
    with authenticated_as(member(user)):
        after = await members.update_preferences(new_uow(), user, {"phone_number": changed})
    await declined(new_uow, user)
    await send_texts(new_uow, twilio)
    assert not after.phone_verified
    assert texts_to(twilio, changed) == []


async def test_a_storm_of_declined_purchases_texts_at_most_the_caps(
    new_uow: partial[NotificationsUnitOfWork], twilio: TwilioServer
) -> None:
    capped = partial(
        new_uow, limits=SendLimits(texts_per_member_per_day=5, texts_per_number_per_day=7)
    )
    number, first, second = saudi_mobile(), uuid.uuid4(), uuid.uuid4()
    await with_verified_number(capped, twilio, first, number, clock=lambda: NOW)
    for _ in range(10):
        await declined(capped, first)
    await send_texts(capped, twilio)
    assert len(texts_to(twilio, number)) == 5  # The member's cap: their code and 4 declines.

    # Another account on the same number: the number's cap holds across accounts.
    await with_verified_number(capped, twilio, second, number, clock=lambda: NOW)
    for _ in range(10):
        await declined(capped, second)
    await send_texts(capped, twilio)
    assert len(told(twilio, number)) == 7

    await declined(capped, first, at=NOW + timedelta(days=1))  # A new day, new counts.
    await send_texts(capped, twilio, at=NOW + timedelta(days=1))
    assert len(told(twilio, number)) == 8


def told(twilio: TwilioServer, number: str) -> list[str]:
    """The texts to `number` that told a member something (not verification codes)."""
    return [body for body in texts_to(twilio, number) if not body.startswith("Your Stride code")]


async def test_codes_asked_for_someone_else_s_number_do_not_use_up_its_texts(
    new_uow: partial[NotificationsUnitOfWork], twilio: TwilioServer
) -> None:
    capped = partial(
        new_uow, limits=SendLimits(texts_per_number_per_day=3, phone_codes_per_number_per_day=5)
    )
    number, owner = saudi_mobile(), uuid.uuid4()
    await with_verified_number(capped, twilio, owner, number, clock=lambda: NOW)
    texter = TwilioSms(twilio.api_base, ACCOUNT_SID, twilio.auth_token, SENDER)
    try:
        for attacker in (uuid.uuid4(), uuid.uuid4()):  # Each asks for codes until refused.
            with authenticated_as(member(attacker)):
                await members.update_preferences(capped(), attacker, {"phone_number": number})
                with pytest.raises(ResourceExhausted):  # noqa: PT012 - asks until refused.
                    for _ in range(10):
                        await phones.send_phone_code(
                            capped(), texter, SendPhoneCode(attacker), lambda: NOW
                        )
    finally:
        await texter.close()
    for _ in range(3):
        await declined(capped, owner)
    await send_texts(capped, twilio)
    assert len(texts_to(twilio, number)) - len(told(twilio, number)) == 5  # The number's codes.
    assert len(told(twilio, number)) == 3  # The owner's texts, all of them.


@pytest.mark.parametrize(
    "number",
    [
        "+19005550123",  # North American premium rate (900).
        "+447000123456",  # UK personal number, billed at premium rates.
        "+88213000000",  # International networks: no country Stride serves.
        "+252611234567",  # A country Stride does not text.
    ],
)
async def test_premium_rate_and_unserved_numbers_are_refused(
    new_uow: partial[NotificationsUnitOfWork], twilio: TwilioServer, number: str
) -> None:
    user = uuid.uuid4()
    with authenticated_as(member(user)), pytest.raises(InvalidArgument) as refused:
        await members.update_preferences(new_uow(), user, {"phone_number": number})
    await declined(new_uow, user)
    await send_texts(new_uow, twilio)
    assert [(v.field, v.message_key) for v in refused.value.violations] == [
        ("preferences.phone_number", "preferences.phone_not_textable")
    ]
    assert texts_to(twilio, number) == []


async def test_a_phone_code_takes_few_guesses_and_few_requests(
    new_uow: partial[NotificationsUnitOfWork], twilio: TwilioServer
) -> None:
    user, number = uuid.uuid4(), saudi_mobile()
    texter = TwilioSms(twilio.api_base, ACCOUNT_SID, twilio.auth_token, SENDER)
    with authenticated_as(member(user)):
        await members.update_preferences(new_uow(), user, {"phone_number": number})
        try:
            for _ in range(SendLimits().phone_codes_per_member_per_hour):
                await phones.send_phone_code(new_uow(), texter, SendPhoneCode(user))
            with pytest.raises(ResourceExhausted) as throttled:
                await phones.send_phone_code(new_uow(), texter, SendPhoneCode(user))
        finally:
            await texter.close()
        match = re.search("[0-9]{6}", texts_to(twilio, number)[-1])
        assert match is not None
        code = match[0]
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        for _ in range(PHONE_CODE_ATTEMPTS):
            with pytest.raises(InvalidArgument):
                await phones.verify_phone_number(new_uow(), VerifyPhoneNumber(user, wrong))
        with pytest.raises(FailedPrecondition):  # Spent: even the right code is refused now.
            await phones.verify_phone_number(new_uow(), VerifyPhoneNumber(user, code))
        preferences = await members.preferences(new_uow(), user)
    assert len(texts_to(twilio, number)) == SendLimits().phone_codes_per_member_per_hour
    assert throttled.value.retry_after_seconds is not None
    assert 0 < throttled.value.retry_after_seconds <= 3600
    assert not preferences.phone_verified


async def test_a_flood_of_password_resets_mails_one_address_at_most_the_cap(
    new_uow: partial[NotificationsUnitOfWork], smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail = events.AccountEmails(Templates(), "https://edge.stride.test", EVENT_SECRETS)
    victim, other = (f"{uuid.uuid4().hex}@example.com" for _ in range(2))
    user = uuid.uuid4()
    flood = [password_reset(user, victim, f"tok_{n}") for n in range(12)]
    for event in [*flood, password_reset(uuid.uuid4(), other, "tok_other")]:
        async with new_uow() as uow:
            await events.on_password_reset_requested(event, uow, mail=mail)
            await uow.commit()
    await sending.send_due_emails(new_uow, SmtpEmail("127.0.0.1", port, "Stride <n@stride.test>"))

    def received(to: str) -> list[EmailMessage]:
        return [message for message in mailbox.messages if message["To"] == to]

    assert len(received(victim)) == SendLimits().account_emails_per_address_per_hour
    assert len(received(other)) == 1  # Another address is not held back by the flood.


async def test_a_display_name_reaches_an_email_as_plain_words(
    new_uow: partial[NotificationsUnitOfWork], smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail = events.AccountEmails(Templates(), "https://edge.stride.test", EVENT_SECRETS)
    user, address = uuid.uuid4(), f"{uuid.uuid4().hex}@example.com"
    kind = "identity.user.registered.v1"
    name = "Layla\r\n\r\nYour account is locked: call evil.com\u202e or https://evil.example/x"
    registered = UserRegistered(
        user=f"users/{user}",
        email=address,
        display_name=name[:80],
        language_code="en",
        sealed_email_verification_token=seal_secret(
            EVENT_SECRETS, "verify-1", event_type=kind, user=f"users/{user}", recipient=address
        ),
    )
    event = make_envelope(source="identity", event_type=kind, subject="s", payload=registered)
    async with new_uow() as uow:
        await events.on_user_registered(event, uow, mail=mail)
        await uow.commit()
    await sending.send_due_emails(new_uow, SmtpEmail("127.0.0.1", port, "Stride <n@stride.test>"))

    (email,) = [message for message in mailbox.messages if message["To"] == address]
    text = cast(EmailMessage, email.get_body(("plain",))).get_content()
    html = cast(EmailMessage, email.get_body(("html",))).get_content()
    assert "Hello Layla Your account is locked: call or," in text
    assert not any(part in text + html for part in ("evil", "https://evil", "\u202e"))


async def test_a_code_to_a_number_that_takes_no_texts_is_refused_not_an_outage(
    new_uow: partial[NotificationsUnitOfWork], twilio: TwilioServer
) -> None:
    user, number = uuid.uuid4(), saudi_mobile()
    twilio.unsubscribed.add(number)  # Its owner texted STOP.
    texter = TwilioSms(twilio.api_base, ACCOUNT_SID, twilio.auth_token, SENDER)
    with authenticated_as(member(user)):
        await members.update_preferences(new_uow(), user, {"phone_number": number})
        try:
            with pytest.raises(FailedPrecondition) as refused:
                await phones.send_phone_code(new_uow(), texter, SendPhoneCode(user))
        finally:
            await texter.close()
    assert refused.value.reason == "PHONE_NUMBER_UNREACHABLE"
