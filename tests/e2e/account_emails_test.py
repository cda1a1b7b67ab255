"""Identity's events as Notifications uses them, through Envoy, with a real SMTP server
(aiosmtpd): the links' tokens reach the member's mailbox and nowhere else — not the NATS
stream, not Identity's outbox; the welcome email's link verifies the address in a browser, or
opens the app, which the edge's /.well-known/ documents name; and the member's time zone in
Notifications follows their Identity profile, never going back to an older one."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from typing import cast
from urllib.parse import parse_qs, urlparse
from urllib.request import Request, urlopen

import nats
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from sqlalchemy import text

from e2e.support import (
    PASSWORD,
    Account,
    Edge,
    EdgeFactory,
    call,
    edge_factory,
    identity_settings,
    new_account,
    next_event,
    running_notifications,
    sign_in,
    sign_up_body,
)
from notifications.support import Mailbox
from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.config import IdentitySettings
from stride.identity.domain.sessions import EMAIL_VERIFICATION_TTL
from stride.identity.entrypoints.admin import announce_profiles
from stride.identity.entrypoints.verify_page import render_verification_page
from stride.identity.events.v1.events_pb2 import UserProfileChanged
from stride.identity.service_layer import handlers
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.db.engine import create_engine, session_factory
from stride.platform.events.envelope import make_envelope, nats_subject, stream_name
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually

EDGE_PORT = free_port()  # Known before the edge starts: links point at it, JWKS come from it.
EDGE_URL = f"http://127.0.0.1:{EDGE_PORT}"
PROFILE_CHANGED = "identity.user.profile_changed.v1"
IOS_APP = "ABCDE12345.app.stride.member"
ANDROID_APP = "app.stride.member"
ANDROID_FINGERPRINT = ":".join(["AB"] * 32)


@pytest.fixture(scope="module")
def identity_config(database_url: str, nats_url: str, event_prefix: str) -> IdentitySettings:
    """Identity as deployed with the apps: they open its links when installed."""
    return identity_settings(
        database_url,
        nats_url,
        event_prefix,
        apple_app_ids=[IOS_APP],
        android_app_package=ANDROID_APP,
        android_app_fingerprints=[ANDROID_FINGERPRINT],
    )


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    server = Controller(box, hostname="127.0.0.1", port=port)
    server.start()
    yield box, port
    server.stop()


@pytest_asyncio.fixture(scope="module")
async def notifications(
    postgres_server_url: str, nats_url: str, event_prefix: str, mailbox: tuple[Mailbox, int]
) -> AsyncIterator[RunningServer]:
    async with running_notifications(
        postgres_server_url,
        nats_url,
        event_prefix,
        f"{EDGE_URL}/.well-known/jwks.json",
        smtp_host="127.0.0.1",
        smtp_port=mailbox[1],
        smtp_starttls=False,
        public_base_url=EDGE_URL,
        send_every_seconds=0.1,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def edges(
    identity: RunningServer, notifications: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeFactory]:
    with edge_factory(tmp_path_factory, identity=identity, notifications=notifications) as factory:
        yield factory


@pytest.fixture(scope="module")
def edge(edges: EdgeFactory) -> Edge:
    return edges(listen_port=EDGE_PORT)


async def email_to(mailbox: Mailbox, address: str, subject_has: str) -> EmailMessage:
    """The first email to `address` whose subject contains `subject_has`, once it arrived."""

    def found() -> list[EmailMessage]:
        return [
            message
            for message in mailbox.messages
            if message["To"] == address and subject_has in str(message["Subject"])
        ]

    async def arrived() -> bool:
        return bool(found())

    await eventually(arrived)
    return found()[0]


def link_in(message: EmailMessage) -> str:
    text_part = cast(EmailMessage, message.get_body(("plain",))).get_content()
    (link,) = [word for word in text_part.split() if word.startswith(EDGE_URL)]
    return str(link)


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["token"][0]


async def stream_messages(nats_url: str, prefix: str, source: str) -> list[bytes]:
    """Every message the source's stream holds, headers and data, as a subscriber gets them."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        last = (await js.stream_info(stream_name(prefix, source))).state.last_seq
        subscription = await js.subscribe(f"{prefix}.{source}.>", ordered_consumer=True)
        raw: list[bytes] = []
        while True:
            message = await subscription.next_msg(timeout=10)
            raw.append(str(message.headers).encode() + message.data)
            if message.metadata.sequence.stream >= last:
                return raw
    finally:
        await connection.close()


async def test_link_tokens_reach_the_mailbox_and_neither_the_stream_nor_the_outbox(
    edge: Edge,
    mailbox: tuple[Mailbox, int],
    database_url: str,
    nats_url: str,
    event_prefix: str,
) -> None:
    box, _ = mailbox
    body = sign_up_body(languageCode="en")
    signed_up = await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    assert signed_up.status == 200, signed_up.body
    welcome = await email_to(box, body["email"], "confirm your email")
    member = await new_account(edge, nats_url, event_prefix, languageCode="en")
    await call("POST", f"{edge.base_url}/v1/users:requestPasswordReset", {"email": member.email})
    new_address = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    await call(
        "POST",
        f"{edge.base_url}/v1/{member.name}:changeEmail",
        {"newEmail": new_address, "password": PASSWORD},
        **member.auth,
    )
    reset = await email_to(box, member.email, "Reset your Stride password")
    change = await email_to(box, new_address, "Confirm your new Stride email address")
    tokens = [token_of(link_in(message)) for message in (welcome, reset, change)]

    published = await stream_messages(nats_url, event_prefix, "identity")
    engine = create_engine(database_url)  # Identity's database in this module.
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT payload FROM outbox"))
            outbox: list[bytes] = list(rows.scalars())
    finally:
        await engine.dispose()

    assert len(set(tokens)) == 3
    assert all(len(token) >= 40 for token in tokens)
    # What the search reads holds the events' contents: the new address is in them.
    assert any(new_address.encode() in message for message in published)
    assert any(new_address.encode() in bytes(payload) for payload in outbox)
    for token in tokens:
        assert not any(token.encode() in message for message in published)
        assert not any(token.encode() in bytes(payload) for payload in outbox)


async def eventually_in_zone(edge: Edge, account: Account, zone: str) -> None:
    """Until the account's notification preferences show `zone`."""
    url = f"{edge.base_url}/v1/{account.name}/notificationPreferences"

    async def shown() -> bool:
        return (await call("GET", url, **account.auth)).body.get("timeZone") == zone

    await eventually(shown)


async def publish_profile(nats_url: str, prefix: str, user: str, zone: str, revision: int) -> None:
    """A `user.profile_changed` event on Identity's stream, as its relay would publish it."""
    changed = UserProfileChanged(
        user=user, language_code="en", time_zone=zone, profile_revision=revision
    )
    event = make_envelope(
        source="identity", event_type=PROFILE_CHANGED, subject=user, payload=changed
    )
    connection = await nats.connect(nats_url)
    try:
        await connection.jetstream().publish(
            nats_subject(prefix, PROFILE_CHANGED), event.SerializeToString()
        )
    finally:
        await connection.close()


async def test_the_zone_in_notifications_follows_identity_and_never_goes_back(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix, timeZone="Asia/Riyadh")
    sentinel = await new_account(edge, nats_url, event_prefix, timeZone="Asia/Riyadh")
    await eventually_in_zone(edge, member, "Asia/Riyadh")  # From sign-up.

    moved = await call(
        "PATCH",
        f"{edge.base_url}/v1/{member.name}?updateMask=timeZone",
        {"timeZone": "Europe/London"},
        **member.auth,
    )
    assert moved.status == 200, moved.body
    await eventually_in_zone(edge, member, "Europe/London")
    _, changed, _ = await next_event(
        nats_url,
        event_prefix,
        PROFILE_CHANGED,
        UserProfileChanged,
        lambda event: event.user == member.name,
    )

    # An older revision arriving late, then a sentinel through the same consumer: once the
    # sentinel shows, the late one was handled before it.
    await publish_profile(
        nats_url, event_prefix, member.name, "Asia/Dubai", changed.profile_revision - 1
    )
    await publish_profile(nats_url, event_prefix, sentinel.name, "Asia/Tokyo", 100)
    await eventually_in_zone(edge, sentinel, "Asia/Tokyo")
    url = f"{edge.base_url}/v1/{member.name}/notificationPreferences"
    assert (await call("GET", url, **member.auth)).body["timeZone"] == "Europe/London"
    assert changed.time_zone == "Europe/London"


async def test_profiles_announced_again_reach_a_copy_that_never_had_them(
    edge: Edge,
    nats_url: str,
    event_prefix: str,
    identity_config: IdentitySettings,
    notifications: RunningServer,
) -> None:
    """Identity's operator command publishes every profile again, a page at a time, and
    Notifications' copy that predates time zones in its events (the zone it defaults to, at
    revision 0) takes each member's zone from it."""
    zones = ["Asia/Riyadh", "Europe/London", "Asia/Tokyo"]
    accounts = [await new_account(edge, nats_url, event_prefix, timeZone=zone) for zone in zones]
    for account, zone in zip(accounts, zones, strict=True):
        await eventually_in_zone(edge, account, zone)
    ids = [account.name.removeprefix("users/") for account in accounts]
    engine = create_engine(notifications.app.settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE recipients SET time_zone = 'UTC', profile_revision = 0"
                    " WHERE user_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": ids},
            )
    finally:
        await engine.dispose()
    for account in accounts:
        await eventually_in_zone(edge, account, "UTC")

    announced = await announce_profiles(identity_config, batch_size=2)

    for account, zone in zip(accounts, zones, strict=True):
        await eventually_in_zone(edge, account, zone)
    engine = create_engine(identity_config.database_url)
    try:
        async with engine.connect() as connection:
            counted = await connection.execute(text("SELECT count(*) FROM users"))
            users: int = counted.scalar_one()
            rows = await connection.execute(
                text("SELECT payload FROM outbox WHERE event_type = :type"),
                {"type": PROFILE_CHANGED},
            )
            payloads: list[bytes] = list(rows.scalars())
    finally:
        await engine.dispose()
    announced_to = Counter(Envelope.FromString(bytes(payload)).subject for payload in payloads)
    assert announced == users > 2  # More than a page.
    assert all(announced_to[account.name] == 1 for account in accounts)


async def page(url: str, **headers: str) -> tuple[int, str, str]:
    """A page as a browser gets it: status, content type and text."""

    def fetch() -> tuple[int, str, str]:
        request = Request(url, headers=headers)  # noqa: S310 - the edge on loopback.
        with urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers["content-type"], response.read().decode()

    return await asyncio.to_thread(fetch)


async def test_the_welcome_email_s_link_verifies_the_address_in_a_browser_with_the_password(
    edge: Edge, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    body = sign_up_body(languageCode="ar", displayName="Layla")
    assert (await call("POST", f"{edge.base_url}/v1/users:signUp", body)).status == 200
    welcome = await email_to(box, body["email"], "Stride")
    link = link_in(welcome)

    status, content_type, opened = await page(link)
    after_opening = await sign_in(edge, body["email"])
    # What the page's form does with the password typed in it.
    verify = {"token": token_of(link), "password": body["password"]}
    confirmed = await call("POST", f"{edge.base_url}/v1/users:verifyEmail", verify)
    after = await sign_in(edge, body["email"])
    _, _, again = await page(link)
    _, _, bogus = await page(f"{EDGE_URL}/verify-email?token=not-a-token", accept_language="en")

    assert urlparse(link).path == "/verify-email"
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert 'dir="rtl"' in opened
    assert "مرحبًا Layla، أدخل كلمة مرورك في Stride" in opened
    assert after_opening.status == 400  # Opening the link (or a mail scanner) changed nothing.
    assert confirmed.status == 200, confirmed.body
    assert after.status == 200
    assert "هذا البريد الإلكتروني مؤكَّد بالفعل" in again  # The link works once.
    assert 'lang="en"' in bogus
    assert "This link does not work" in bogus


async def test_an_expired_link_says_so_in_the_account_s_language(
    edge: Edge, mailbox: tuple[Mailbox, int], identity_config: IdentitySettings
) -> None:
    box, _ = mailbox
    body = sign_up_body(languageCode="en")
    await call("POST", f"{edge.base_url}/v1/users:signUp", body)
    token = token_of(link_in(await email_to(box, body["email"], "confirm your email")))
    engine = create_engine(identity_config.database_url)
    new_uow = partial(
        IdentityUnitOfWork,
        session_factory(engine),
        DataKeyring.from_spec(identity_config.data_keys, identity_config.data_key_active),
        identity_config.event_secrets(),
    )
    later = datetime.now(UTC) + EMAIL_VERIFICATION_TTL + timedelta(minutes=1)
    try:
        opened = await handlers.look_at_verification_link(token, new_uow(), clock=lambda: later)
    finally:
        await engine.dispose()
    still = await sign_in(edge, body["email"])

    assert opened.outcome is handlers.LinkOutcome.EXPIRED
    assert "This link has expired" in render_verification_page(token, opened, "ar")
    assert still.status == 400  # Not verified by an expired link.


async def test_the_edge_names_the_apps_that_open_the_account_links(edge: Edge) -> None:
    _, apple_type, apple = await page(f"{EDGE_URL}/.well-known/apple-app-site-association")
    _, android_type, android = await page(f"{EDGE_URL}/.well-known/assetlinks.json")

    assert apple_type == android_type == "application/json"
    (ios,) = json.loads(apple)["applinks"]["details"]
    assert ios["appIDs"] == [IOS_APP]
    assert {"/": "/verify-email"} in ios["components"]
    (statement,) = json.loads(android)
    assert statement["relation"] == ["delegate_permission/common.handle_all_urls"]
    assert statement["target"] == {
        "namespace": "android_app",
        "package_name": ANDROID_APP,
        "sha256_cert_fingerprints": [ANDROID_FINGERPRINT],
    }
