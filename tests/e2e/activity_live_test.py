"""A live session through Envoy as Server-Sent Events, the way a browser's EventSource or the
app reads it: sets and heart rates arrive as they are stored, each event's JSON carrying its
sequence; a client that lost its connection reconnects with `afterSequence` and gets exactly
what it missed, then what comes next. Nobody else watches a member's session; a member is not
the class's staff; the instructor's board shows each live member's zone."""

from __future__ import annotations

import asyncio
import http.client
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from e2e.support import (
    Account,
    Edge,
    EdgeFactory,
    call,
    edge_factory,
    edge_jwks_url,
    new_account,
    new_admin,
    running_activity,
    signed_in,
)
from stride.identity.config import IdentitySettings
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port

EDGE_PORT = free_port()  # Known before the edge starts: the services fetch the JWKS from it.
STUDIO = "studios/olaya"
SQUAT = "exercises/barbell-back-squat"


@pytest_asyncio.fixture(scope="module")
async def activity(
    postgres_server_url: str, nats_url: str, event_prefix: str
) -> AsyncIterator[RunningServer]:
    jwks = edge_jwks_url(EDGE_PORT)
    async with running_activity(postgres_server_url, nats_url, event_prefix, jwks) as running:
        yield running


@pytest.fixture(scope="module")
def edges(
    identity: RunningServer, activity: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EdgeFactory]:
    with edge_factory(tmp_path_factory, identity=identity, activity=activity) as factory:
        yield factory


@pytest.fixture(scope="module")
def edge(edges: EdgeFactory) -> Edge:
    return edges(listen_port=EDGE_PORT)


class EventSourceClient:
    """A Server-Sent Events client over a plain HTTP/1.1 connection, reading `text/event-stream`
    line by line as the WHATWG EventSource does: `data:` lines make an event, a blank line ends
    it. Heartbeats (nothing new) are skipped as the app skips them."""

    def __init__(self, edge: Edge, path: str, token: str) -> None:
        host, port = edge.grpc_target.split(":")
        self._connection = http.client.HTTPConnection(host, int(port), timeout=20)
        self._path, self._token = path, token
        self._response: http.client.HTTPResponse | None = None
        self.status = 0
        self.content_type = ""
        self.cache_control = ""

    def open(self) -> None:
        headers = {
            "authorization": f"Bearer {self._token}",
            "accept": "text/event-stream",
            "cache-control": "no-cache",
        }
        self._connection.request("GET", self._path, headers=headers)
        self._response = self._connection.getresponse()
        self.status = self._response.status
        self.content_type = self._response.headers.get("content-type", "")
        self.cache_control = self._response.headers.get("cache-control", "")

    def next_event(self) -> dict[str, Any]:
        assert self._response is not None
        data: list[str] = []
        while True:
            line = self._response.readline().decode()
            if not line:
                raise EOFError("the stream ended")
            line = line.rstrip("\r\n")
            if line.startswith("data:"):
                data.append(line.removeprefix("data:").removeprefix(" "))
            elif not line and data:
                event: dict[str, Any] = json.loads("\n".join(data))
                data = []
                if "heartbeat" not in event:
                    return event

    def events(self, count: int) -> list[dict[str, Any]]:
        return [self.next_event() for _ in range(count)]

    def close(self) -> None:
        self._connection.close()


async def watching(edge: Edge, path: str, account: Account) -> EventSourceClient:
    client = EventSourceClient(edge, path, account.access_token)
    await asyncio.to_thread(client.open)
    return client


async def events(client: EventSourceClient, count: int) -> list[dict[str, Any]]:
    return await asyncio.to_thread(client.events, count)


def a_class() -> str:
    return f"{STUDIO}/classSessions/{uuid.uuid4()}"


def live_session(member: Account, class_session: str) -> dict[str, Any]:
    return {
        "name": f"{member.name}/workoutSessions/{uuid.uuid4()}",
        "displayName": "Spin and squats",
        "classSession": class_session,
        "state": "STATE_IN_PROGRESS",
        "startTime": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
        "version": "1",
        "maxHeartRate": 200,
        "sets": [a_set(0), a_set(1)],
    }


def a_set(position: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "exercise": SQUAT,
        "position": position,
        "reps": 5,
        "weightKg": 80,
        "version": "1",
    }


async def consenting(edge: Edge, member: Account) -> Account:
    """The member lets Stride keep their heart rate (without it, RecordHeartRate is refused)."""
    url = f"{edge.base_url}/v1/{member.name}/dataConsent?updateMask=heartRate"
    given = await call("PATCH", url, {"heartRate": True}, **member.auth)
    assert given.status == 200, given.body
    return member


async def beat(edge: Edge, member: Account, session: str, *bpms: int) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(seconds=len(bpms))
    body = {
        "readings": [
            {"time": (start + timedelta(seconds=i)).isoformat(), "bpm": bpm}
            for i, bpm in enumerate(bpms)
        ]
    }
    reply = await call("POST", f"{edge.base_url}/v1/{session}:recordHeartRate", body, **member.auth)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def sequences(updates: list[dict[str, Any]]) -> list[int]:
    return [int(update["sequence"]) for update in updates]


async def test_a_dropped_event_stream_resumes_after_its_last_sequence_with_no_gap_or_repeat(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await consenting(edge, await new_account(edge, nats_url, event_prefix))
    session = live_session(member, a_class())
    name = session["name"]
    stored = await call("PUT", f"{edge.base_url}/v1/{name}", session, **member.auth)
    assert stored.status == 200, stored.body
    assert stored.body["liveSequence"] == "3"  # Started, two sets.

    stream = await watching(edge, f"/v1/{name}:watch", member)
    try:
        assert stream.status == 200
        assert stream.content_type.startswith("text/event-stream")
        assert stream.cache_control == "no-cache"
        replayed = await events(stream, 3)
        recorded = await beat(edge, member, name, 110, 185)
        tailed = await events(stream, 2)
    finally:
        stream.close()  # The phone loses its connection mid-session.
    assert replayed[0]["state"] == "STATE_IN_PROGRESS"
    assert [u["set"]["id"] for u in replayed[1:]] == [s["id"] for s in session["sets"]]
    assert [(u["heartRate"]["bpm"], u["heartRate"]["zone"]) for u in tailed] == [
        (110, 1),  # 55 % of the session's 200.
        (185, 5),
    ]
    assert recorded["liveSequence"] == tailed[-1]["sequence"]
    last_seen = tailed[-1]["sequence"]

    # The session goes on while nobody watches.
    await beat(edge, member, name, 150)
    more = {**session, "sets": [a_set(2)]}
    assert (await call("PUT", f"{edge.base_url}/v1/{name}", more, **member.auth)).status == 200

    stream = await watching(edge, f"/v1/{name}:watch?afterSequence={last_seen}", member)
    try:
        assert stream.status == 200
        missed = await events(stream, 2)
        await beat(edge, member, name, 160)
        new = await events(stream, 1)
    finally:
        stream.close()
    assert (missed[0]["heartRate"]["bpm"], missed[1]["set"]["id"]) == (150, more["sets"][0]["id"])
    assert new[0]["heartRate"]["zone"] == 4
    assert sequences(replayed + tailed + missed + new) == list(range(1, 9))
    assert {u["workoutSession"] for u in replayed + tailed + missed + new} == {name}


async def test_only_the_member_watches_their_session_and_only_staff_the_class_board(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    member = await consenting(edge, await new_account(edge, nats_url, event_prefix))
    other = await new_account(edge, nats_url, event_prefix)
    spin = a_class()
    session = live_session(member, spin)
    name = session["name"]
    assert (await call("PUT", f"{edge.base_url}/v1/{name}", session, **member.auth)).status == 200
    await beat(edge, member, name, 172)

    refused = await watching(edge, f"/v1/{name}:watch", other)
    refused.close()
    assert refused.status == 403
    board_path = f"/v1/{spin}/heartRates:watch"
    not_staff = await watching(edge, board_path, member)
    not_staff.close()
    assert not_staff.status == 403
    by_other = await call(
        "POST",
        f"{edge.base_url}/v1/{name}:recordHeartRate",
        {"readings": [{"time": datetime.now(UTC).isoformat(), "bpm": 120}]},
        **other.auth,
    )
    assert by_other.status == 403
    too_fast = await call(
        "POST",
        f"{edge.base_url}/v1/{name}:recordHeartRate",
        {"readings": [{"time": datetime.now(UTC).isoformat(), "bpm": 400}]},
        **member.auth,
    )
    assert too_fast.status == 400, too_fast.body

    admin = await new_admin(edge, nats_url, event_prefix, identity_config)
    instructor = await new_account(edge, nats_url, event_prefix)
    role = {"grant": {"role": "instructor", "studio": STUDIO}}
    granted = await call(
        "POST", f"{edge.base_url}/v1/{instructor.name}:grantRole", role, **admin.auth
    )
    assert granted.status == 200, granted.body
    instructor = await signed_in(edge, instructor)
    board = await watching(edge, board_path, instructor)
    try:
        assert board.status == 200
        assert board.content_type.startswith("text/event-stream")
        (first,) = await events(board, 1)
        await beat(edge, member, name, 130)
        (changed,) = await events(board, 1)
    finally:
        board.close()
    assert [
        (r["member"], r["heartRate"]["bpm"], r["heartRate"]["zone"]) for r in first["heartRates"]
    ] == [
        (member.name, 172, 4)  # 86 % of 200.
    ]
    assert [(r["member"], r["heartRate"]["zone"]) for r in changed["heartRates"]] == [
        (member.name, 2)
    ]
