"""Notifications over REST through Envoy: a member registers their phone for push, finds a
waitlist promotion in their inbox and marks it read; nobody else sees or touches it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
import pytest_asyncio

from e2e.support import (
    UNSUBSCRIBE_SECRET,
    Edge,
    EdgeFactory,
    call,
    edge_factory,
    edge_jwks_url,
    new_account,
    new_admin,
    running_notifications,
    violations,
)
from stride.identity.config import IdentitySettings
from stride.notifications.domain.unsubscribe import unsubscribe_token
from stride.platform.events.envelope import make_envelope, nats_subject
from stride.platform.events.outbox import ensure_stream
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.resource_names import parse_user_name
from stride.platform.testing.probes import eventually
from stride.scheduling.events.v1.events_pb2 import BookingChanged

EDGE_PORT = free_port()  # Known before the edge starts: Notifications fetches the JWKS from it.


@pytest_asyncio.fixture(scope="module")
async def notifications(
    postgres_server_url: str, nats_url: str, event_prefix: str
) -> AsyncIterator[RunningServer]:
    async with running_notifications(
        postgres_server_url, nats_url, event_prefix, edge_jwks_url(EDGE_PORT)
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


async def test_devices_and_the_inbox_are_the_member_s_own(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    devices = f"{edge.base_url}/v1/{member.name}/devices"
    phone = {"token": f"fcm-{uuid.uuid4().hex}", "platform": "PLATFORM_ANDROID"}
    registered = await call("POST", devices, phone, **member.auth)
    refused = await call(
        "POST", devices, {"token": "has spaces"}, **member.auth, accept_language="ar"
    )
    by_other = await call("POST", devices, phone, **other.auth)
    await publish_promotion(nats_url, event_prefix, member.name)
    inbox_url = f"{edge.base_url}/v1/{member.name}/notifications"
    inbox = await eventually_listed(inbox_url, member.auth)
    peeked = await call("GET", inbox_url, **other.auth)
    (notification,) = inbox
    read_url = f"{edge.base_url}/v1/{notification['name']}:markRead"
    read_by_other = await call("POST", read_url, {}, **other.auth)
    read = await call("POST", read_url, {}, **member.auth)
    deleted = await call("DELETE", f"{edge.base_url}/v1/{registered.body['name']}", **member.auth)

    assert registered.status == 200, registered.body
    assert registered.body["platform"] == "PLATFORM_ANDROID"
    assert registered.body.get("token", "") == ""  # Input only: never echoed back.
    assert refused.status == 400
    assert set(violations(refused)) == {"device.token", "device.platform"}
    assert (by_other.status, peeked.status, read_by_other.status) == (403, 403, 403)
    assert (notification["kind"], notification["title"]) == ("waitlist.promoted", "You're in!")
    assert "readTime" not in notification
    assert read.status == 200
    assert "readTime" in read.body
    assert deleted.status == 200


async def publish_promotion(nats_url: str, prefix: str, member: str) -> None:
    """Scheduling's event on its stream, as its outbox relay publishes it."""
    event = make_envelope(
        source="scheduling",
        event_type="scheduling.waitlist.promoted.v1",
        subject=f"{member}/bookings/b1",
        payload=BookingChanged(booking=f"{member}/bookings/b1", member=member),
    )
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        await ensure_stream(js, prefix, "scheduling")
        await js.publish(nats_subject(prefix, event.type), event.SerializeToString())
    finally:
        await connection.close()


async def eventually_listed(url: str, auth: dict[str, str]) -> list[dict[str, str]]:
    """The inbox at `url` once something reached it."""

    async def inbox() -> list[dict[str, str]]:
        listed = await call("GET", url, **auth)
        assert listed.status == 200, listed.body
        return list(listed.body.get("notifications", []))

    return await eventually(inbox)


async def eventually_in_zone(url: str, auth: dict[str, str], zone: str) -> None:
    """Until the preferences at `url` show `zone`, as Notifications learns it from Identity."""

    async def shows_zone() -> bool:
        return (await call("GET", url, **auth)).body.get("timeZone") == zone

    await eventually(shows_zone)


async def test_preferences_are_read_and_changed_field_by_field(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    url = f"{edge.base_url}/v1/{member.name}/notificationPreferences"
    defaults = await call("GET", url, **member.auth)
    quiet = {"quietHoursStart": "22:00", "quietHoursEnd": "07:00"}
    changed = await call(
        "PATCH", f"{url}?updateMask=quiet_hours_start,quiet_hours_end", quiet, **member.auth
    )
    opted_in = await call(
        "PATCH", f"{url}?updateMask=marketing_push", {"marketingPush": True}, **member.auth
    )
    # The zone is Identity's (output only here): naming it changes nothing, and is no error.
    elsewhere = await call(
        "PATCH", f"{url}?updateMask=time_zone", {"timeZone": "Mars/Olympus"}, **member.auth
    )
    local_number = await call(
        "PATCH", f"{url}?updateMask=phone_number", {"phoneNumber": "0501234567"}, **member.auth
    )
    by_other = await call("GET", url, **other.auth)

    assert defaults.status == 200, defaults.body
    assert defaults.body["marketingPush"] is False
    assert changed.status == 200, changed.body
    assert {key: changed.body[key] for key in quiet} == quiet
    assert (opted_in.body["marketingPush"], opted_in.body["quietHoursStart"]) == (True, "22:00")
    assert elsewhere.status == 200, elsewhere.body
    assert elsewhere.body["timeZone"] != "Mars/Olympus"
    assert violations(local_number) == {"preferences.phone_number": "preferences.phone_number"}
    assert by_other.status == 403


async def test_staff_preview_templates_as_they_would_be_sent(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    staff = (await new_admin(edge, nats_url, event_prefix, identity_config)).auth
    member = await new_account(edge, nats_url, event_prefix)
    url = f"{edge.base_url}/v1/templates:preview"
    link = "https://edge.stride.test/password-reset?token=t"
    reset = {
        "kind": "password_reset",
        "version": 1,
        "languageCode": "ar",
        "values": {"link": link, "expire_time": "2027-01-01 09:00"},
    }
    previewed = await call("POST", url, reset, **staff)
    missing = await call("POST", url, {**reset, "values": {"link": link}}, **staff)
    unknown = await call("POST", url, {**reset, "version": 9}, **staff)
    by_member = await call("POST", url, reset, **member.auth)

    assert previewed.status == 200, previewed.body
    assert previewed.body["subject"] == "إعادة تعيين كلمة مرور Stride"
    assert link in previewed.body["text"]
    assert 'dir="rtl"' in previewed.body["html"]
    assert (missing.status, set(violations(missing))) == (400, {"values"})
    assert (unknown.status, by_member.status) == (404, 403)


async def test_an_admin_runs_a_campaign_and_follows_its_figures(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    admin = (await new_admin(edge, nats_url, event_prefix, identity_config)).auth
    member = await new_account(
        edge, nats_url, event_prefix, language_code="ar", timeZone="Asia/Tokyo"
    )
    preferences = f"{edge.base_url}/v1/{member.name}/notificationPreferences"
    await call(
        "PATCH", f"{preferences}?updateMask=marketing_push", {"marketingPush": True}, **member.auth
    )
    await eventually_in_zone(preferences, member.auth, "Asia/Tokyo")  # Identity's, followed.
    messages = [
        {"languageCode": "en", "title": "Spring offer", "body": "Ten percent off."},
        {"languageCode": "ar", "title": "عرض الربيع", "body": "خصم عشرة في المئة."},
    ]
    campaign = {
        "displayName": "Spring",
        "audience": {"timeZones": ["Asia/Tokyo"]},
        "variants": [{"key": "a", "weight": 100, "messages": messages}],
    }
    url = f"{edge.base_url}/v1/campaigns"
    created = await call("POST", url, campaign, **admin)
    lopsided = {**campaign, "variants": [{"key": "a", "weight": 60, "messages": messages[:1]}]}
    refused = await call("POST", url, lopsided, **admin, accept_language="ar")
    by_member = await call("POST", url, campaign, **member.auth)
    (received,) = await eventually_listed(
        f"{edge.base_url}/v1/{member.name}/notifications", member.auth
    )
    followed = await call("GET", f"{edge.base_url}/v1/{created.body['name']}", **admin)
    listed = await call("GET", f"{url}?pageSize=5", **admin)

    assert created.status == 200, created.body
    assert created.body["state"] == "STATE_SCHEDULED"
    assert created.body["perSecond"] == 100
    assert refused.status == 400
    assert set(violations(refused)) == {"campaign.variants.weight", "campaign.variants[0].messages"}
    assert by_member.status == 403
    assert (received["kind"], received["title"]) == ("campaign", "عرض الربيع")
    assert received["subject"] == created.body["name"]
    assert followed.body["state"] == "STATE_PLANNED"
    assert followed.body["variants"][0]["statistics"]["recipients"] == "1"
    assert listed.body["campaigns"][0]["name"] == created.body["name"]


async def test_admins_read_the_delivery_log_and_its_dead_letters(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    admin = (await new_admin(edge, nats_url, event_prefix, identity_config)).auth
    member = await new_account(edge, nats_url, event_prefix)
    everyone = f"{edge.base_url}/v1/users/-/notifications/-/deliveries"
    dead_letters = await call("GET", f"{everyone}?filter=state%20%3D%20STATE_FAILED", **admin)
    unfiltered = await call("GET", everyone, **admin)
    nonsense = await call("GET", f"{everyone}?filter=kind%3Dx", **admin, accept_language="ar")
    by_member = await call("GET", everyone, **member.auth)
    unknown = await call(
        "POST",
        f"{edge.base_url}/v1/{member.name}/notifications/{uuid.uuid4()}/deliveries/email:retry",
        {},
        **admin,
    )

    assert (dead_letters.status, unfiltered.status) == (200, 200), dead_letters.body
    assert dead_letters.body.get("deliveries", []) == []  # Without push or email: none.
    assert nonsense.status == 400
    assert violations(nonsense) == {"filter": "filter.unknown_field"}
    assert (by_member.status, unknown.status) == (403, 404)


async def test_a_mail_app_unsubscribes_its_reader_in_one_click_without_signing_in(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    preferences = f"{edge.base_url}/v1/{member.name}/notificationPreferences"
    await call(
        "PATCH",
        f"{preferences}?updateMask=marketing_email",
        {"marketingEmail": True},
        **member.auth,
    )
    token = unsubscribe_token(UNSUBSCRIBE_SECRET.encode(), parse_user_name(member.name))
    url = f"{edge.base_url}/v1/notificationPreferences:unsubscribe"
    form, as_form = b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded"
    unsubscribed = await call("POST", f"{url}?token={token}", form, content_type=as_form)
    again = await call("POST", f"{url}?token={token}", form, content_type=as_form)
    forged = await call("POST", f"{url}?token={token[:-3]}xyz", form, content_type=as_form)
    after = await call("GET", preferences, **member.auth)

    assert (unsubscribed.status, again.status) == (200, 200), unsubscribed.body
    assert forged.status == 400
    assert violations(forged) == {"token": "unsubscribe.invalid_token"}
    assert after.body["marketingEmail"] is False
