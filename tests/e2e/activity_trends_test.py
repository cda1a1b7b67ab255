"""Trends over REST through Envoy: a member's phone uploads heart rate, a resting heart rate and
steps from Apple Health, and the member reads the day's load, resting heart rate and steps back
in their trends; nobody else reads them, and weeks or a time zone beyond the contract are a
400."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from e2e.support import (
    Edge,
    EdgeFactory,
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
WATCH = {"type": "HEALTH_DEVICE_TYPE_WATCH", "manufacturer": "Apple Inc.", "model": "Watch6,1"}


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


def sample(
    sample_id: str, kind: str, value: float, unit: str, start: datetime, seconds: int = 0
) -> dict[str, Any]:
    return {
        "id": sample_id,
        "kind": kind,
        "value": value,
        "unit": unit,
        "startTime": start.isoformat(),
        "endTime": (start + timedelta(seconds=seconds)).isoformat(),
    }


async def test_a_member_reads_the_days_load_resting_heart_rate_and_steps_they_uploaded(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    consent_url = f"{edge.base_url}/v1/{member.name}/dataConsent?updateMask=heartRate"
    assert (await call("PATCH", consent_url, {"heartRate": True}, **member.auth)).status == 200
    hour = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    # Five minutes at 175 bpm, a reading a second: 92 % of 190, zone 5, a load of 25.
    readings = [
        sample(f"hr-{n}", "HEALTH_KIND_HEART_RATE", 175, "count/min", hour + timedelta(seconds=n))
        for n in range(300)
    ]
    upload = {
        "source": "healthkit",
        "device": WATCH,
        "samples": [
            *readings,
            sample("rest", "HEALTH_KIND_RESTING_HEART_RATE", 54, "count/min", hour),
            sample("walk", "HEALTH_KIND_STEPS", 2400, "count", hour, seconds=1800),
        ],
    }
    uploaded = await call(
        "POST", f"{edge.base_url}/v1/{member.name}/healthSamples:batchUpload", upload, **member.auth
    )
    assert uploaded.status == 200, uploaded.body
    assert (uploaded.body["acceptedCount"], uploaded.body["rejections"]) == (
        len(upload["samples"]),
        [],
    )

    # Two weeks: the upload's day is in them even when today is a Monday and it was Sunday.
    url = f"{edge.base_url}/v1/{member.name}/activityTrends?weeks=2&timeZone=UTC"
    found = await call("GET", url, **member.auth)
    assert found.status == 200, found.body
    trends = found.body
    assert trends["name"] == f"{member.name}/activityTrends"
    assert trends["timeZone"] == "UTC"
    assert trends.get("heartRateWithheld", False) is False
    (day,) = [d for d in trends["days"] if d["date"] == hour.date().isoformat()]
    assert day["zoneMinutes"] == [0, 0, 0, 0, 5]
    assert day["load"] == 25
    assert day["restingHeartRate"] == 54
    assert day["steps"] == "2400"
    assert len(trends["weeks"]) == 2
    assert sum(int(week.get("steps", "0")) for week in trends["weeks"]) == 2400
    days_without = [d for d in trends["days"] if d["date"] != day["date"]]
    assert all("restingHeartRate" not in d and "steps" not in d for d in days_without)

    assert (await call("GET", url, **other.auth)).status == 403


async def test_weeks_and_time_zones_beyond_the_contract_are_refused(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    base = f"{edge.base_url}/v1/{member.name}/activityTrends"
    too_many = await call("GET", f"{base}?weeks=53", **member.auth)
    assert too_many.status == 400
    assert violations(too_many) == {"weeks": "field.out_of_range"}
    # Nowhere, and a file Python's zoneinfo opens that PostgreSQL knows no zone by (it was a
    # 500 when the day boundaries were asked of the database).
    for zone in ("Mars%2FOlympus", "right%2FUTC"):
        nowhere = await call("GET", f"{base}?timeZone={zone}", **member.auth)
        assert nowhere.status == 400
        assert violations(nowhere) == {"time_zone": "field.invalid_time_zone"}
    unset = await call("GET", base, **member.auth)
    assert unset.status == 200, unset.body
    assert (len(unset.body["weeks"]), unset.body["timeZone"]) == (4, "UTC")
