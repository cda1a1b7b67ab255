"""Booking a class over REST through Envoy, with Identity's real tokens and real NATS events."""

from __future__ import annotations

import asyncio
import http.client
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
import pytest_asyncio

from chaos.support import holding, scalar
from e2e.support import (
    SCHEDULING_DATA_KEYS,
    Account,
    Edge,
    EdgeFactory,
    Reply,
    call,
    edge_factory,
    edge_jwks_url,
    new_account,
    new_admin,
    next_event,
    reason,
    running_billing,
    running_scheduling,
    signed_in,
    violations,
)
from stride.identity.config import IdentitySettings
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually_equal
from stride.scheduling.domain.check_in import issue_code
from stride.scheduling.events.v1.events_pb2 import BookingChanged
from stride.scheduling.service_layer.attendance import CHECK_IN_KEY_PURPOSE

EDGE_PORT = free_port()  # Known before the edge starts: Scheduling fetches the JWKS from it.


@pytest_asyncio.fixture(scope="module")
async def billing(
    postgres_server_url: str, nats_url: str, event_prefix: str, stripe_api_base: str
) -> AsyncIterator[RunningServer]:
    async with running_billing(
        postgres_server_url, nats_url, event_prefix, edge_jwks_url(EDGE_PORT), stripe_api_base
    ) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def scheduling(
    postgres_server_url: str, nats_url: str, event_prefix: str, billing: RunningServer
) -> AsyncIterator[RunningServer]:
    async with running_scheduling(
        postgres_server_url, nats_url, event_prefix, edge_jwks_url(EDGE_PORT), billing.port
    ) as running:
        yield running


@pytest.fixture(scope="module")
def edges(
    identity: RunningServer,
    scheduling: RunningServer,
    billing: RunningServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EdgeFactory]:
    with edge_factory(
        tmp_path_factory, identity=identity, scheduling=scheduling, billing=billing
    ) as factory:
        yield factory


@pytest.fixture(scope="module")
def edge(edges: EdgeFactory) -> Edge:
    return edges(listen_port=EDGE_PORT)


@dataclass(frozen=True)
class Studio:
    name: str
    admin: Account
    manager: Account
    room: str
    class_type: str


@pytest_asyncio.fixture(scope="module")
async def studio(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> Studio:
    admin = await new_admin(edge, nats_url, event_prefix, identity_config)
    slug = f"olaya-{uuid.uuid4().hex[:8]}"
    created = await call(
        "POST",
        f"{edge.base_url}/v1/studios?studioId={slug}",
        {
            "displayName": "Stride Olaya",
            "timeZone": "Asia/Riyadh",
            "bookingPolicy": {"bookingWindowDays": 7, "lateCancelHours": 12},
        },
        **admin.auth,
    )
    assert created.status == 200, created.body
    manager = await new_account(edge, nats_url, event_prefix)
    role = {"grant": {"role": "manager", "studio": f"studios/{slug}"}}
    granted = await call("POST", f"{edge.base_url}/v1/{manager.name}:grantRole", role, **admin.auth)
    assert granted.status == 200, granted.body
    manager = await signed_in(edge, manager)  # Now scoped to the studio, as its manager.
    base = f"{edge.base_url}/v1/studios/{slug}"
    room = await call(
        "POST", f"{base}/rooms", {"displayName": "Studio A", "capacity": 1}, **manager.auth
    )
    spin = await call(
        "POST",
        f"{base}/classTypes",
        {"displayNameEn": "Spin", "displayNameAr": "دراجات", "durationMinutes": 45},
        **manager.auth,
    )
    assert room.status == spin.status == 200, (room.body, spin.body)
    return Studio(f"studios/{slug}", admin, manager, room.body["name"], spin.body["name"])


async def paying_member(edge: Edge, studio: Studio, nats_url: str, event_prefix: str) -> Account:
    """A member with a 10-class pack for the studio."""
    account = await new_account(edge, nats_url, event_prefix)
    expires = (datetime.now(UTC) + timedelta(days=60)).isoformat().replace("+00:00", "Z")
    granted = await call(
        "POST",
        f"{edge.base_url}/v1/{account.name}/entitlements",
        {
            "kind": "KIND_CLASS_PACK",
            "studio": studio.name,
            "creditsTotal": 10,
            "expireTime": expires,
        },
        **studio.admin.auth,
    )
    assert granted.status == 200, granted.body
    return account


async def credits_left(edge: Edge, account: Account) -> int:
    listed = await call("GET", f"{edge.base_url}/v1/{account.name}/entitlements", **account.auth)
    return int(listed.body["entitlements"][0]["creditsRemaining"])


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def schedule(edge: Edge, studio: Studio, starts_in: timedelta) -> dict[str, Any]:
    start = stamp(datetime.now(UTC) + starts_in)
    created = await call(
        "POST",
        f"{edge.base_url}/v1/{studio.name}/classSessions",
        {"classType": studio.class_type, "room": studio.room, "startTime": start},
        **studio.manager.auth,
    )
    assert created.status == 200, created.body
    return created.body


async def book(
    edge: Edge, member: Account, class_name: object, request_id: str = ""
) -> dict[str, Any]:
    """The body is the Booking itself (`body: "booking"`); the request id rides the query."""
    query = f"?requestId={request_id}" if request_id else ""
    reply = await call(
        "POST",
        f"{edge.base_url}/v1/{member.name}/bookings{query}",
        {"classSession": class_name},
        **member.auth,
    )
    return {"status": reply.status, **reply.body}


async def test_book_waitlist_promotion_and_late_cancel(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    spin = await schedule(edge, studio, timedelta(days=3))
    layla = await paying_member(edge, studio, nats_url, event_prefix)
    omar = await paying_member(edge, studio, nats_url, event_prefix)

    first = await book(edge, layla, spin["name"])
    second = await book(edge, omar, spin["name"])
    assert (first["status"], first["state"]) == (200, "STATE_CONFIRMED")
    assert (second["status"], second["state"], second["waitlistPosition"]) == (
        200,
        "STATE_WAITLISTED",
        1,
    )
    full = await call("GET", f"{edge.base_url}/v1/{spin['name']}", **layla.auth)
    assert (full.body["confirmedCount"], full.body["waitlistCount"]) == (1, 1)

    cancelled = await call("POST", f"{edge.base_url}/v1/{first['name']}:cancel", {}, **layla.auth)
    assert cancelled.body["state"] == "STATE_CANCELLED"  # Three days ahead: on time.
    mine = await call("GET", f"{edge.base_url}/v1/{omar.name}/bookings", **omar.auth)
    assert [b["state"] for b in mine.body["bookings"]] == ["STATE_CONFIRMED"]
    _, promoted, _ = await next_event(
        nats_url,
        event_prefix,
        "scheduling.waitlist.promoted.v1",
        BookingChanged,
        lambda event: event.booking == second["name"],
    )
    assert promoted.member == omar.name

    soon = await schedule(edge, studio, timedelta(hours=2))
    late_booking = await book(edge, layla, soon["name"])
    late = await call("POST", f"{edge.base_url}/v1/{late_booking['name']}:cancel", {}, **layla.auth)
    assert late.body["state"] == "STATE_LATE_CANCELLED"
    _, fee_event, _ = await next_event(
        nats_url,
        event_prefix,
        "scheduling.booking.late_cancelled.v1",
        BookingChanged,
        lambda event: event.booking == late_booking["name"],
    )
    assert fee_event.class_session == soon["name"]


async def test_a_member_cannot_take_a_booked_class_s_credit_back(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    """Holding and releasing credits are Scheduling's internal calls to Billing: the edge
    routes neither, in REST or gRPC form, and a member's token opens neither at Billing."""
    member = await paying_member(edge, studio, nats_url, event_prefix)
    spin = await schedule(edge, studio, timedelta(days=2))
    booked = await book(edge, member, spin["name"])
    assert (booked["status"], booked["state"]) == (200, "STATE_CONFIRMED")
    assert await credits_left(edge, member) == 9
    hold = booked["name"].replace("/bookings/", "/holds/")

    release = await call("POST", f"{edge.base_url}/v1/{hold}:release", {}, **member.auth)
    hold_again = await call(
        "POST",
        f"{edge.base_url}/v1/{member.name}/holds",
        {"booking": booked["name"]},
        **member.auth,
    )
    assert (release.status, hold_again.status) == (404, 404)
    assert await credits_left(edge, member) == 9  # Still held by the confirmed booking.
    mine = await call("GET", f"{edge.base_url}/v1/{member.name}/bookings", **member.auth)
    assert [b["state"] for b in mine.body["bookings"]] == ["STATE_CONFIRMED"]


async def test_bad_bookings_are_clear_localized_errors(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    member = await paying_member(edge, studio, nats_url, event_prefix)
    far = await schedule(edge, studio, timedelta(days=30))
    not_open = await book(edge, member, far["name"])
    assert not_open["status"] == 400
    assert not_open["details"][0]["reason"] == "BOOKING_NOT_OPEN"  # ErrorInfo comes first.

    unknown = await book(edge, member, f"{studio.name}/classSessions/{uuid.uuid4()}")
    assert unknown["status"] == 404

    past = await call(
        "POST",
        f"{edge.base_url}/v1/{studio.name}/classSessions",
        {"classType": studio.class_type, "room": studio.room, "startTime": "2020-01-01T10:00:00Z"},
        **studio.manager.auth,
        accept_language="ar",
    )
    assert past.status == 400
    assert violations(past) == {"class_session.start_time": "class.start_in_past"}

    soon = await schedule(edge, studio, timedelta(days=1))
    request_id = str(uuid.uuid4())
    once = await book(edge, member, soon["name"], request_id)
    again = await book(edge, member, soon["name"], request_id)
    assert once["status"] == again["status"] == 200
    assert once["name"] == again["name"]  # A retry is the same booking, not a second one.
    reused = await book(edge, member, far["name"], request_id)
    assert reused["status"] == 400
    twice = await book(edge, member, soon["name"])
    assert twice["status"] == 409


async def test_members_touch_only_their_own_bookings_and_staff_run_the_studio(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    owner = await paying_member(edge, studio, nats_url, event_prefix)
    other = await paying_member(edge, studio, nats_url, event_prefix)
    spin = await schedule(edge, studio, timedelta(days=2))
    booking = await book(edge, owner, spin["name"])
    steal = await call("POST", f"{edge.base_url}/v1/{booking['name']}:cancel", {}, **other.auth)
    peek = await call("GET", f"{edge.base_url}/v1/{owner.name}/bookings", **other.auth)
    on_behalf = await book(edge, other, spin["name"])
    assert (steal.status, peek.status) == (403, 403)
    assert on_behalf["status"] == 200  # Booking for oneself is fine…
    forged = await call(
        "POST",
        f"{edge.base_url}/v1/{owner.name}/bookings",
        {"classSession": spin["name"]},
        **other.auth,
    )
    assert forged.status == 403  # …booking as someone else is not.
    room = await call(
        "POST",
        f"{edge.base_url}/v1/{studio.name}/rooms",
        {"displayName": "Mine now", "capacity": 5},
        **other.auth,
    )
    assert room.status == 403
    assert reason(room) == "PERMISSION_DENIED"


async def test_updates_change_only_what_their_mask_names(edge: Edge, studio: Studio) -> None:
    manager = studio.manager.auth
    instructor = f"users/{uuid.uuid4()}"
    hours_url = f"{edge.base_url}/v1/{studio.name}/instructors/{instructor[6:]}/availability"
    mornings = [{"dayOfWeek": day, "start": "06:00", "end": "12:00"} for day in range(1, 8)]
    replaced = await call(
        "PATCH",
        hours_url,
        {"weekly": mornings, "exceptions": [{"date": "2030-01-01"}]},
        **manager,
    )
    leave = {"weekly": [], "exceptions": [{"date": "2030-02-01"}]}
    on_leave = await call("PATCH", f"{hours_url}?updateMask=exceptions", leave, **manager)
    unknown = await call("PATCH", f"{hours_url}?updateMask=weekly,holidays", leave, **manager)
    assert replaced.status == on_leave.status == 200, (replaced.body, on_leave.body)
    assert replaced.body["exceptions"] == [{"date": "2030-01-01", "windows": []}]
    assert on_leave.body["weekly"] == replaced.body["weekly"]  # Not in the mask: kept.
    assert on_leave.body["exceptions"] == [{"date": "2030-02-01", "windows": []}]
    assert violations(unknown) == {"update_mask": "field.not_updatable"}

    ten_in_riyadh = datetime.combine(
        datetime.now(UTC).date() + timedelta(days=4), time(7), tzinfo=UTC
    )
    created = await call(
        "POST",
        f"{edge.base_url}/v1/{studio.name}/classSessions",
        {"classType": studio.class_type, "room": studio.room, "startTime": stamp(ten_in_riyadh)},
        **manager,
    )
    class_url = f"{edge.base_url}/v1/{created.body['name']}"
    no_mask = await call("PATCH", class_url, {"instructor": instructor}, **manager)
    taught = await call(
        "PATCH",
        f"{class_url}?updateMask=instructor,waitlistCount",
        {"instructor": instructor, "capacity": 0, "waitlistCount": 7},
        **manager,
    )
    assert violations(no_mask) == {"update_mask": "field.required"}  # The contract needs one.
    assert taught.status == 200, taught.body
    assert taught.body["instructor"] == instructor
    assert (taught.body["capacity"], taught.body.get("waitlistCount", 0)) == (1, 0)


async def test_classes_are_listed_by_filter_a_page_at_a_time(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    manager = studio.manager.auth
    base = f"{edge.base_url}/v1/{studio.name}"
    yoga = await call(
        "POST",
        f"{base}/classTypes",
        {"displayNameEn": "Yoga", "displayNameAr": "يوغا", "durationMinutes": 60},
        **manager,
    )
    instructor = f"users/{uuid.uuid4()}"
    mornings = [{"dayOfWeek": day, "start": "06:00", "end": "12:00"} for day in range(1, 8)]
    await call(
        "PATCH",
        f"{base}/instructors/{instructor[6:]}/availability",
        {"weekly": mornings},
        **manager,
    )
    today = datetime.now(UTC).date()
    starts = [datetime.combine(today + timedelta(days=n), time(7), tzinfo=UTC) for n in (1, 2, 3)]
    created = [
        await call(
            "POST",
            f"{base}/classSessions",
            {
                "classType": yoga.body["name"],
                "room": studio.room,
                "startTime": stamp(start),
                "instructor": instructor if n == 1 else "",
            },
            **manager,
        )
        for n, start in enumerate(starts)
    ]
    full, free, cancelled = (reply.body["name"] for reply in created)
    assert (await book(edge, await paying_member(edge, studio, nats_url, event_prefix), full))[
        "state"
    ] == "STATE_CONFIRMED"
    await call("POST", f"{edge.base_url}/v1/{cancelled}:cancel", {}, **manager)

    async def listed(language: str = "en", **query: str) -> Reply:
        url = f"{base}/classSessions?{urlencode(query)}"
        return await call("GET", url, **manager, accept_language=language)

    of_yoga = f'class_type = "{yoga.body["name"]}"'

    async def names(also: str = "", **query: str) -> list[str]:
        reply = await listed(filter=f"{of_yoga} {also}".strip(), **query)
        assert reply.status == 200, reply.body
        return [session["name"] for session in reply.body.get("classSessions", [])]

    everything = await listed(filter=f'classType="{yoga.body["name"]}"')
    assert [s["name"] for s in everything.body["classSessions"]] == [full, free, cancelled]
    assert [s["freeSpots"] for s in everything.body["classSessions"]] == [0, 1, 0]
    assert await names("AND free_spots > 0") == [free]
    assert await names(f'AND start_time >= "{stamp(starts[1])}"') == [free, cancelled]
    assert await names(f"AND start_time < {stamp(starts[1])} AND free_spots = 0") == [full]
    assert await names(f'AND instructor = "{instructor}"') == [free]
    assert await names(f'AND room != "{studio.room}"') == []
    deprecated = await listed(classType=yoga.body["name"], onlyFreeSpots="true")
    assert [s["name"] for s in deprecated.body["classSessions"]] == [free]

    first = await listed(filter=of_yoga, pageSize="2")
    token = first.body["nextPageToken"]
    assert await names(pageSize="2", pageToken=token) == [cancelled]
    elsewhere = await listed(filter=f"{of_yoga} AND free_spots > 0", pageToken=token)
    assert violations(elsewhere) == {"page_token": "page.invalid_token"}

    unknown = await listed(filter="colour = red")
    not_a_room = await listed("ar", filter='room = "studios/x/rooms/y"')
    assert violations(unknown) == {"filter": "filter.unknown_field"}
    assert violations(not_a_room) == {"filter": "room.invalid_name"}


async def test_check_in_with_the_rotating_code(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    member = await paying_member(edge, studio, nats_url, event_prefix)
    spin = await schedule(edge, studio, timedelta(minutes=30))
    booking = await book(edge, member, spin["name"])
    code = await call("GET", f"{edge.base_url}/v1/{booking['name']}:checkInToken", **member.auth)
    assert code.status == 200, code.body
    kiosk = f"{edge.base_url}/v1/{studio.name}:checkIn"

    not_staff = await call("POST", kiosk, {"token": code.body["token"]}, **member.auth)
    assert not_staff.status == 403
    desk = studio.manager.auth
    checked_in = await call("POST", kiosk, {"token": code.body["token"]}, **desk)
    assert checked_in.status == 200, checked_in.body
    assert checked_in.body["booking"] == booking["name"]
    again = await call("POST", kiosk, {"token": code.body["token"]}, **desk)
    assert again.body["checkInTime"] == checked_in.body["checkInTime"]

    roster = await call("GET", f"{edge.base_url}/v1/{spin['name']}/roster", **desk)
    (entry,) = roster.body["entries"]
    assert (entry["member"], entry["state"]) == (member.name, "STATE_ATTENDED")
    await next_event(
        nats_url,
        event_prefix,
        "scheduling.attendance.checked_in.v1",
        BookingChanged,
        lambda event: event.booking == booking["name"],
    )

    key = DataKeyring.from_spec(SCHEDULING_DATA_KEYS, "test1").derive_key(CHECK_IN_KEY_PURPOSE)
    booking_id = uuid.UUID(booking["name"].rsplit("/", 1)[1])
    screenshot, _ = issue_code(key, booking_id, datetime.now(UTC) - timedelta(minutes=10))
    stale = await call("POST", kiosk, {"token": screenshot}, **desk, accept_language="ar")
    assert stale.status == 400
    assert reason(stale) == "CHECK_IN_CODE_EXPIRED"
    forged = await call("POST", kiosk, {"token": "bm90IGEgY29kZQ"}, **desk)
    assert violations(forged) == {"token": "check_in.invalid_code"}


async def test_codes_only_near_class_time(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    member = await paying_member(edge, studio, nats_url, event_prefix)
    later = await schedule(edge, studio, timedelta(days=2))
    booking = await book(edge, member, later["name"])
    code = await call("GET", f"{edge.base_url}/v1/{booking['name']}:checkInToken", **member.auth)
    assert code.status == 400
    assert reason(code) == "CHECK_IN_CLOSED"


async def test_a_member_exports_their_bookings_as_a_calendar(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    member = await paying_member(edge, studio, nats_url, event_prefix)
    spin = await schedule(edge, studio, timedelta(days=1))
    await book(edge, member, spin["name"])
    feed = await asyncio.to_thread(
        _fetch, f"{edge.base_url}/v1/{member.name}/bookings:ical", member.access_token
    )
    assert feed.startswith("BEGIN:VCALENDAR\r\n")
    assert "SUMMARY:دراجات" in feed  # The member's language, from Accept-Language.
    start = datetime.fromisoformat(spin["startTime"].replace("Z", "+00:00"))
    assert f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}" in feed


def _fetch(url: str, token: str) -> str:
    headers = {"authorization": f"Bearer {token}", "accept-language": "ar"}
    request = Request(url, headers=headers)  # noqa: S310 - loopback URL built by the test.
    with urlopen(request, timeout=10) as response:  # noqa: S310 - loopback.
        assert response.headers["content-type"].startswith("text/calendar")
        return str(response.read().decode())


async def test_a_connected_app_hears_of_its_promotion_at_once(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    holder = await paying_member(edge, studio, nats_url, event_prefix)
    waiting = await paying_member(edge, studio, nats_url, event_prefix)
    spin = await schedule(edge, studio, timedelta(days=2))
    first = await book(edge, holder, spin["name"])
    second = await book(edge, waiting, spin["name"])
    watch = StreamWatcher(edge, f"/v1/{waiting.name}/bookings:watch", waiting.access_token)
    try:
        await asyncio.to_thread(watch.open)
        await call("POST", f"{edge.base_url}/v1/{first['name']}:cancel", {}, **holder.auth)
        streamed = await asyncio.to_thread(watch.read_until, '"waitlist.promoted"')
    finally:
        watch.close()
    assert watch.status == 200
    promoted = [u for u in _updates(streamed) if u["change"] == "waitlist.promoted"]
    assert promoted[0]["booking"]["name"] == second["name"]
    assert promoted[0]["booking"]["state"] == "STATE_CONFIRMED"


async def test_nobody_watches_someone_elses_bookings(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    me = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    watch = StreamWatcher(edge, f"/v1/{other.name}/bookings:watch", me.access_token)
    try:
        await asyncio.to_thread(watch.open)
    finally:
        watch.close()
    assert watch.status == 403


class StreamWatcher:
    """Reads a server-streaming RPC over REST the way the app does: Envoy streams the messages
    as a JSON array, each as soon as the service sends it."""

    def __init__(self, edge: Edge, path: str, token: str) -> None:
        host, port = edge.grpc_target.split(":")
        self._connection = http.client.HTTPConnection(host, int(port), timeout=15)
        self._path, self._token = path, token
        self._response: http.client.HTTPResponse | None = None
        self.status = 0

    def open(self) -> None:
        self._connection.request(
            "GET", self._path, headers={"authorization": f"Bearer {self._token}"}
        )
        self._response = self._connection.getresponse()
        self.status = self._response.status

    def read_until(self, marker: str) -> str:
        assert self._response is not None
        received = ""
        while marker not in received:
            chunk = self._response.read1(65536)
            if not chunk:
                break
            received += chunk.decode()
        return received

    def close(self) -> None:
        self._connection.close()


def _updates(streamed: str) -> list[dict[str, Any]]:
    """The complete messages of a JSON array still being streamed."""
    body = streamed.strip().lstrip("[").rstrip(",")
    return list(json.loads(f"[{body}]")) if body else []


async def test_credits_are_held_on_booking_and_come_back_on_a_timely_cancel(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    broke = await new_account(edge, nats_url, event_prefix)
    spin = await schedule(edge, studio, timedelta(days=2))
    refused = await book(edge, broke, spin["name"])
    assert refused["status"] == 400
    assert refused["details"][0]["reason"] == "NO_ENTITLEMENT"

    paying = await paying_member(edge, studio, nats_url, event_prefix)
    booked = await book(edge, paying, spin["name"])
    assert booked["status"] == 200
    assert await credits_left(edge, paying) == 9
    await call("POST", f"{edge.base_url}/v1/{booked['name']}:cancel", {}, **paying.auth)
    # Billing gives the credit back when the cancellation event reaches it.
    await eventually_equal(lambda: credits_left(edge, paying), 10)


async def test_a_booking_the_edge_gave_up_on_is_not_made_behind_the_member_s_back(
    edges: EdgeFactory,
    edge: Edge,
    studio: Studio,
    scheduling: RunningServer,
    nats_url: str,
    event_prefix: str,
) -> None:
    """Envoy answers 504 once its route timeout passes, and tells Scheduling how long that is.
    A booking still waiting for its class's lock by then is not made when the lock comes free;
    the app's retry with the same request id books once, on the credit the first try held."""
    impatient = edges(route_timeout_seconds=2)
    member = await paying_member(edge, studio, nats_url, event_prefix)
    other = await paying_member(edge, studio, nats_url, event_prefix)
    spin = await schedule(edge, studio, timedelta(days=2))
    bookings_of = "SELECT count(*) FROM bookings WHERE member_id = CAST(:member AS uuid)"
    member_id = member.name.removeprefix("users/")
    # Every booking for the class is decided under its row lock (ADR 0006): taken here first.
    locked = "SELECT id FROM class_sessions WHERE id = CAST(:id AS uuid) FOR UPDATE"
    async with holding(scheduling, locked, id=spin["name"].rsplit("/", 1)[1]):
        gave_up = await call(
            "POST",
            f"{impatient.base_url}/v1/{member.name}/bookings?requestId=tap-1",
            {"classSession": spin["name"]},
            **member.auth,
        )
        assert gave_up.status == 504
        assert await credits_left(edge, member) == 9  # Held before the class's lock.
    # Bookings for one class are decided in order: once the next one is answered, the first
    # one's turn has come and gone.
    assert (await book(edge, other, spin["name"]))["status"] == 200
    assert await scalar(scheduling, bookings_of, member=member_id) == 0

    retried = await book(edge, member, spin["name"], "tap-1")
    again = await book(edge, member, spin["name"], "tap-1")
    assert retried["status"] == 200
    assert again == retried
    assert await scalar(scheduling, bookings_of, member=member_id) == 1
    assert await credits_left(edge, member) == 9  # The one credit the first try held.


async def test_plans_and_a_plan_change_quote_over_rest(
    edge: Edge, studio: Studio, nats_url: str, event_prefix: str
) -> None:
    plans_url = f"{edge.base_url}/v1/{studio.name}/plans"

    async def plan(price: int, author: Account) -> str:
        created = await call(
            "POST",
            plans_url,
            {
                "displayNameEn": "Monthly",
                "displayNameAr": "شهري",
                "kind": "KIND_MONTHLY_MEMBERSHIP",
                "price": {"currencyCode": "SAR", "amountMinor": str(price)},
                "vatRateBasisPoints": 1500,
            },
            **author.auth,
        )
        return str(created.body.get("name", created.status))

    basic, premium = await plan(30_000, studio.manager), await plan(60_000, studio.manager)
    assert basic.startswith(f"{studio.name}/plans/")
    buyer = await new_account(edge, nats_url, event_prefix)
    quote = await call(
        "POST",
        f"{edge.base_url}/v1/{premium}:quoteChange",
        {
            "fromPlan": basic,
            "periodStartTime": "2026-12-01T00:00:00Z",
            "periodEndTime": "2026-12-31T00:00:00Z",
            "changeTime": "2026-12-16T00:00:00Z",
        },
        **buyer.auth,
        accept_language="ar",
    )
    assert quote.status == 200, quote.body
    assert quote.body["lines"][0]["description"] == "رصيد عن المدة غير المستخدمة من الخطة الحالية"
    assert quote.body["total"] == {"currencyCode": "SAR", "amountMinor": "17250"}
    lines_total = sum(int(line["total"]["amountMinor"]) for line in quote.body["lines"])
    assert lines_total == 17_250
    assert await plan(1, buyer) == "403"  # Members don't set prices.
