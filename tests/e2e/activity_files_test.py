"""Activity files over REST through Envoy: a member with location consent uploads a GPX of a run
as the request body — listed among their imported activities, its route read back as GPX and
in their export until they withdraw location consent, its best efforts listed and announced as
a personal record; the same file again is the same activity; nobody else reads the route; a
file that is not one, or a 50 MB body, is a 400."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import pytest_asyncio
from activity.activity_files import gpx_file, straight_run

from e2e.support import (
    Edge,
    EdgeFactory,
    announced_50_mb,
    call,
    edge_factory,
    edge_jwks_url,
    new_account,
    next_event,
    running_activity,
    violations,
)
from stride.activity.events.v1.events_pb2 import PersonalRecordsSet
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port

EDGE_PORT = free_port()  # Known before the edge starts: the services fetch the JWKS from it.
GPX = "application/gpx+xml"


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


async def test_a_gpx_run_becomes_an_activity_with_its_route_and_a_best_effort(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    consent_url = f"{edge.base_url}/v1/{member.name}/dataConsent?updateMask=location"
    assert (await call("PATCH", consent_url, {"location": True}, **member.auth)).status == 200
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    run = gpx_file(start, straight_run(5100, 290), name="Corniche 5k")
    url = f"{edge.base_url}/v1/{member.name}/importedActivities:upload"

    assert (await call("POST", url, run, content_type=GPX, **other.auth)).status == 403
    uploaded = await call("POST", url, run, content_type=GPX, **member.auth)

    assert uploaded.status == 200, uploaded.body
    activity = uploaded.body["importedActivity"]
    assert (activity["source"], activity["sportType"]) == ("file", "Run")
    assert (activity["displayName"], activity["startTime"]) == (
        "Corniche 5k",
        start.isoformat().replace("+00:00", "Z"),
    )
    assert activity["distanceMeters"] == pytest.approx(5100, abs=1)
    assert (uploaded.body["created"], uploaded.body["routeState"]) == (True, "ROUTE_STATE_STORED")
    assert [e["name"].rsplit("/", 1)[1] for e in uploaded.body["bestEfforts"]] == ["1k", "5k"]
    again = await call("POST", url, run, content_type=GPX, **member.auth)
    assert again.body["importedActivity"]["name"] == activity["name"]
    assert again.body.get("created", False) is False

    listed = await call(
        "GET", f"{edge.base_url}/v1/{member.name}/importedActivities", **member.auth
    )
    assert [a["name"] for a in listed.body["importedActivities"]] == [activity["name"]]
    route_url = f"{edge.base_url}/v1/{activity['name']}/route"
    route = await call("GET", route_url, **member.auth)
    assert route.status == 200
    assert route.headers["content-type"] == GPX
    assert route.text.count("<trkpt") == len(straight_run(5100, 290))
    assert "<name>Corniche 5k</name>" in route.text
    assert (await call("GET", route_url, **other.auth)).status == 403

    efforts = await call("GET", f"{edge.base_url}/v1/{member.name}/bestEfforts", **member.auth)
    five = efforts.body["bestEfforts"][1]
    assert five["name"] == f"{member.name}/bestEfforts/5k"
    assert five["elapsedTimeSeconds"] == pytest.approx(5 * 290, abs=1)
    assert five["importedActivity"] == activity["name"]
    _, record, _ = await next_event(
        nats_url,
        event_prefix,
        "activity.personal_record.set.v1",
        PersonalRecordsSet,
        lambda payload: payload.imported_activity == activity["name"],
    )
    assert [r.kind for r in record.records] == ["best_effort", "best_effort"]

    export_url = f"{edge.base_url}/v1/{member.name}/activityData:export"
    document = (await call("GET", export_url, **member.auth)).body
    assert [a["name"] for a in document["importedActivities"]] == [activity["name"]]
    assert {e["name"].rsplit("/", 1)[1] for e in document["bestEfforts"]} == {"1k", "5k"}
    (exported,) = document["routes"]
    assert exported["importedActivity"] == activity["name"]
    assert exported["gpx"] == route.text
    withdrawn = await call("PATCH", consent_url, {"location": False}, **member.auth)
    assert withdrawn.status == 200
    assert (await call("GET", route_url, **member.auth)).status == 404


async def test_a_file_that_is_not_one_or_too_large_is_refused_with_its_field(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    url = f"{edge.base_url}/v1/{member.name}/importedActivities:upload"

    damaged = await call("POST", url, b"<gpx><trk><trkseg>", content_type=GPX, **member.auth)
    assert damaged.status == 400
    assert violations(damaged) == {"file.data": "activity_file.unreadable"}
    unknown = await call(
        "POST", url, b"%PDF-1.7 ...", content_type="application/pdf", **member.auth
    )
    assert violations(unknown) == {"file.content_type": "activity_file.unknown_format"}
    too_large = await asyncio.get_running_loop().run_in_executor(
        None, partial(announced_50_mb, edge, f"/v1/{member.name}/importedActivities:upload", member)
    )
    assert too_large.status == 400
    listed = await call(
        "GET", f"{edge.base_url}/v1/{member.name}/importedActivities", **member.auth
    )
    assert listed.body.get("importedActivities", []) == []
