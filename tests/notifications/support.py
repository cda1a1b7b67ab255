"""What the Notifications suites share: a local FCM, a real SMTP server (aiosmtpd), and units
of work on the module's migrated database (conftest.py makes them fixtures of every module
here)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import partial

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from stack.fcm import FcmServer, running_fcm
from stack.twilio import ACCOUNT_SID, SENDER, TwilioServer
from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.events.v1.events_pb2 import PasswordResetRequested, UserProfileChanged
from stride.notifications.adapters.twilio_sms import TwilioSms
from stride.notifications.main import MIGRATIONS
from stride.notifications.service_layer import events, members, phones
from stride.notifications.service_layer.commands import SendPhoneCode, VerifyPhoneNumber
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.clock import Clock, utcnow
from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.events.envelope import make_envelope
from stride.platform.events.secrets import seal_secret
from stride.platform.local.ports import free_port

DATA_KEY_SPEC = new_data_key_spec("test")  # STRIDE_DATA_KEYS for the suites' services.
DATA_KEYS = DataKeyring.from_spec(DATA_KEY_SPEC, "test")
# STRIDE_EVENT_SECRET_KEYS: the suites seal the tokens of Identity's events, as Identity does.
EVENT_SECRET_KEY_SPEC = new_data_key_spec("events")
EVENT_SECRETS = DataKeyring.from_spec(EVENT_SECRET_KEY_SPEC, "events")


@pytest_asyncio.fixture(scope="module")
async def fcm() -> AsyncIterator[FcmServer]:
    async with running_fcm() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def new_uow(database_url: str) -> AsyncIterator[partial[NotificationsUnitOfWork]]:
    await run_migrations(database_url, MIGRATIONS)
    engine = create_engine(database_url)
    yield partial(NotificationsUnitOfWork, session_factory(engine), DATA_KEYS)
    await engine.dispose()


class Mailbox:
    """aiosmtpd's handler: keeps every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name.
        self, server: object, session: object, envelope: SmtpEnvelope
    ) -> str:
        raw = envelope.original_content or b""
        self.messages.append(BytesParser(policy=policy.default).parsebytes(raw))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    server = Controller(mailbox, hostname="127.0.0.1", port=port)
    server.start()
    yield mailbox, port
    server.stop()


async def lives_in(
    new_uow: Callable[[], NotificationsUnitOfWork],
    user: uuid.UUID,
    time_zone: str,
    language: str = "en",
    revision: int = 1,
) -> None:
    """What Identity says of the user's zone and language (its `user.profile_changed`), as
    Notifications' consumer applies it."""
    changed = UserProfileChanged(
        user=f"users/{user}",
        language_code=language,
        time_zone=time_zone,
        profile_revision=revision,
    )
    event = make_envelope(
        source="identity",
        event_type="identity.user.profile_changed.v1",
        subject=changed.user,
        payload=changed,
    )
    async with new_uow() as uow:
        await events.on_profile_changed(event, uow)
        await uow.commit()


def password_reset(user: uuid.UUID, address: str, token: str) -> Envelope:
    """Identity's event, the token sealed for Notifications as Identity seals it."""
    reset = "identity.password_reset.requested.v1"
    sealed = seal_secret(
        EVENT_SECRETS, token, event_type=reset, user=f"users/{user}", recipient=address
    )
    requested = PasswordResetRequested(
        user=f"users/{user}", email=address, language_code="ar", sealed_token=sealed
    )
    requested.expire_time.FromDatetime(datetime(2027, 1, 2, 3, 4, tzinfo=UTC))
    return make_envelope(
        source="identity", event_type=reset, subject=f"users/{user}", payload=requested
    )


def member(user: uuid.UUID) -> Principal:
    return Principal(user_id=str(user), roles=frozenset({"member"}))


async def with_verified_number(
    new_uow: Callable[[], NotificationsUnitOfWork],
    twilio: TwilioServer,
    user: uuid.UUID,
    number: str,
    clock: Clock = utcnow,
) -> None:
    """The member gives `number` and verifies it with the code Twilio's stand-in received, as
    the app does (SendPhoneNumberCode, then VerifyPhoneNumber)."""
    texter = TwilioSms(twilio.api_base, ACCOUNT_SID, twilio.auth_token, SENDER)
    with authenticated_as(member(user)):
        await members.update_preferences(new_uow(), user, {"phone_number": number})
        try:
            await phones.send_phone_code(new_uow(), texter, SendPhoneCode(user), clock)
        finally:
            await texter.close()
        texted = next(m for m in reversed(twilio.messages) if m["to"] == number)
        code = re.search(r"[0-9]{6}", texted["body"])
        assert code is not None
        await phones.verify_phone_number(new_uow(), VerifyPhoneNumber(user, code[0]), clock)
