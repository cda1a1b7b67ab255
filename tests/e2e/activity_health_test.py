"""Health data over REST through Envoy: a member's phone uploads a batch from Apple Health with
some bad samples (each answered with its reason, in the member's language, the rest stored),
reads its sync anchor and the day's figures back; nobody else reads or writes them; a batch
beyond the contract, or a 50 MB body, is a 400 before any handler."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
import pytest_asyncio

from e2e.support import (
    Edge,
    EdgeFactory,
    announced_50_mb,
    call,
    edge_factory,
    edge_jwks_url,
    new_account,
    running_activity,
    violations,
)
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port

EDGE_PORT = free_port()  # Known before the edge starts: the services fetch the JWKS from it.
WATCH = {
    "type": "HEALTH_DEVICE_TYPE_WATCH",
    "manufacturer": "Apple Inc.",
    "model": "Watch6,1",
    "name": "Apple Watch",
}


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


def reading(sample_id: str, bpm: float, at: datetime, unit: str = "count/min") -> dict[str, Any]:
    stamp = at.isoformat()
    return {
        "id": sample_id,
        "kind": "HEALTH_KIND_HEART_RATE",
        "value": bpm,
        "unit": unit,
        "startTime": stamp,
        "endTime": stamp,
    }


async def test_a_batch_with_bad_samples_is_answered_per_sample_and_read_back_by_its_owner(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix, languageCode="ar")
    other = await new_account(edge, nats_url, event_prefix)
    hour = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    upload = {
        "source": "healthkit",
        "device": WATCH,
        "samples": [
            reading("A1", 120, hour),
            reading("A2", 0, hour + timedelta(seconds=1)),
            reading("A3", 140, hour + timedelta(seconds=2)),
            reading("A4", 130, hour + timedelta(seconds=3), unit="kg"),
            reading("A5", 160, hour + timedelta(seconds=4)),
        ],
        "syncAnchor": "YnBsaXN0MDDUAQIDBAUGBwpYJHZlcnNpb24=",
    }
    url = f"{edge.base_url}/v1/{member.name}/healthSamples:batchUpload"
    assert (await call("POST", url, upload, **other.auth)).status == 403
    unconsented = await call("POST", url, upload, **member.auth)
    assert {r["reason"] for r in unconsented.body["rejections"]} == {
        "health_sample.no_consent",
        "health_sample.impossible_value",
        "health_sample.unknown_unit",
    }
    consent_url = f"{edge.base_url}/v1/{member.name}/dataConsent?updateMask=heartRate"
    assert (await call("PATCH", consent_url, {"heartRate": True}, **member.auth)).status == 200

    first = await call("POST", url, upload, accept_language="ar", **member.auth)
    assert first.status == 200, first.body
    assert first.body["acceptedCount"] == 3
    assert [(r["index"], r["id"], r["reason"]) for r in first.body["rejections"]] == [
        (1, "A2", "health_sample.impossible_value"),
        (3, "A4", "health_sample.unknown_unit"),
    ]
    assert first.body["rejections"][1]["message"] == "هذه الوحدة لا تقيس هذا النوع من العيّنات."
    again = await call("POST", url, upload, **member.auth)
    assert (again.body["acceptedCount"], again.body["duplicateCount"]) == (0, 3)
    assert len(again.body["rejections"]) == 2

    anchor_url = f"{edge.base_url}/v1/{member.name}/healthSyncAnchors/healthkit"
    anchor = await call("GET", anchor_url, **member.auth)
    assert anchor.body["anchor"] == upload["syncAnchor"]
    assert (await call("GET", anchor_url, **other.auth)).status == 403

    query = (
        "kind=HEALTH_KIND_HEART_RATE&resolution=RESOLUTION_HOUR"
        f"&startTime={hour.isoformat().replace('+00:00', 'Z')}"
        f"&endTime={(hour + timedelta(hours=1)).isoformat().replace('+00:00', 'Z')}"
    )
    rollups_url = f"{edge.base_url}/v1/{member.name}/healthRollups?{query}"
    (rollup,) = (await call("GET", rollups_url, **member.auth)).body["rollups"]
    assert (rollup["sampleCount"], rollup["min"], rollup["max"], rollup["average"]) == (
        "3",
        120,
        160,
        140,
    )
    assert rollup["deviceType"] == "HEALTH_DEVICE_TYPE_WATCH"
    # 120 bpm is 63 % of 190 (zone 2), 140 is 74 % (zone 3), 160 is 84 % (zone 4).
    assert rollup["zoneSeconds"] == [0, 1, 1, 1, 0]
    assert (await call("GET", rollups_url, **other.auth)).status == 403
    # The member's export holds the day those readings made.
    export_url = f"{edge.base_url}/v1/{member.name}/activityData:export"
    (day,) = (await call("GET", export_url, **member.auth)).body["healthDays"]
    assert (day["kind"], day["sampleCount"], day["max"]) == ("HEALTH_KIND_HEART_RATE", "3", 160)
    assert day["startTime"] == f"{hour:%Y-%m-%d}T00:00:00Z"

    settings_url = f"{edge.base_url}/v1/{member.name}/healthSettings"
    changed = await call(
        "PATCH", settings_url, {"devicePriority": ["HEALTH_DEVICE_TYPE_PHONE"]}, **member.auth
    )
    assert changed.status == 200, changed.body
    assert changed.body["devicePriority"][:2] == [
        "HEALTH_DEVICE_TYPE_PHONE",
        "HEALTH_DEVICE_TYPE_WATCH",
    ]
    assert (await call("PATCH", settings_url, {}, **other.auth)).status == 403


async def test_a_batch_beyond_the_contract_is_refused_before_the_handler(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    url = f"{edge.base_url}/v1/{member.name}/healthSamples:batchUpload"
    at = datetime.now(UTC) - timedelta(hours=1)
    too_many = {
        "source": "healthkit",
        "samples": [reading(str(n), 70, at + timedelta(seconds=n)) for n in range(4001)],
    }
    refused = await call("POST", url, too_many, **member.auth)
    assert refused.status == 400, refused.body
    assert violations(refused) == {"samples": "field.too_many"}

    too_large = await asyncio.get_running_loop().run_in_executor(
        None, partial(announced_50_mb, edge, f"/v1/{member.name}/healthSamples:batchUpload", member)
    )
    assert too_large.status == 400
    assert json.loads(too_large.read())["details"][0]["reason"] == "REQUEST_TOO_LARGE"

    unknown = await call("POST", url, {"source": "fitbit"}, **member.auth)
    assert unknown.status == 400
    assert violations(unknown) == {"source": "health_sample.unknown_source"}
    elsewhere = await call(
        "GET", f"{edge.base_url}/v1/{member.name}/healthSyncAnchors/fitbit", **member.auth
    )
    assert violations(elsewhere) == {"name": "health_sample.unknown_source"}
    nothing = await call(
        "GET", f"{edge.base_url}/v1/{member.name}/healthSyncAnchors/healthkit", **member.auth
    )
    assert nothing.status == 200
    assert nothing.body.get("anchor", "") == ""
