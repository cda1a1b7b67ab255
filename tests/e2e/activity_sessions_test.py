"""Activity over REST through Envoy: a member logs a coach's workout offline and uploads it twice
(one session), and the personal record it sets reaches their phone once, in Arabic, through
Notifications and FCM. Nobody else reads or writes the session; bad numbers are refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
import pytest_asyncio
from google.protobuf.timestamp_pb2 import Timestamp

from e2e.support import (
    Edge,
    EdgeFactory,
    call,
    edge_factory,
    edge_jwks_url,
    new_account,
    new_admin,
    running_activity,
    running_notifications,
    violations,
)
from stack.fcm import PROJECT_ID, FcmServer, running_fcm
from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.config import IdentitySettings
from stride.platform.events.envelope import make_envelope, nats_subject
from stride.platform.events.outbox import ensure_stream
from stride.platform.grpc.server import RunningServer
from stride.platform.local.ports import free_port
from stride.platform.testing.probes import eventually
from stride.scheduling.events.v1.events_pb2 import BookingChanged

EDGE_PORT = free_port()  # Known before the edge starts: the services fetch the JWKS from it.
STUDIO = "studios/olaya"
SQUAT = "exercises/barbell-back-squat"


@pytest_asyncio.fixture(scope="module")
async def fcm() -> AsyncIterator[FcmServer]:
    async with running_fcm() as server:
        yield server


@pytest_asyncio.fixture(scope="module")
async def activity(
    postgres_server_url: str, nats_url: str, event_prefix: str
) -> AsyncIterator[RunningServer]:
    jwks = edge_jwks_url(EDGE_PORT)
    async with running_activity(postgres_server_url, nats_url, event_prefix, jwks) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def notifications(
    postgres_server_url: str,
    nats_url: str,
    event_prefix: str,
    fcm: FcmServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningServer]:
    key_file = tmp_path_factory.mktemp("fcm") / "service-account.json"
    key_file.write_text(fcm.key_json)
    async with running_notifications(
        postgres_server_url,
        nats_url,
        event_prefix,
        edge_jwks_url(EDGE_PORT),
        fcm_project_id=PROJECT_ID,
        fcm_service_account_file=key_file,
        fcm_api_base=fcm.api_base,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def edges(
    identity: RunningServer,
    activity: RunningServer,
    notifications: RunningServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EdgeFactory]:
    with edge_factory(
        tmp_path_factory, identity=identity, activity=activity, notifications=notifications
    ) as factory:
        yield factory


@pytest.fixture(scope="module")
def edge(edges: EdgeFactory) -> Edge:
    return edges(listen_port=EDGE_PORT)


def logged_offline(member: str, template: dict[str, Any], squat_kg: float) -> dict[str, Any]:
    """A completed session as the app keeps it before it has a connection: its own ids, every
    planned set done as planned but the squats, done at `squat_kg`."""
    start = datetime.now(UTC) - timedelta(hours=1)
    planned = [planned for block in template["blocks"] for planned in block["sets"]]
    return {
        "name": f"{member}/workoutSessions/{uuid.uuid4()}",
        "displayName": template["displayName"],
        "workoutTemplate": template["name"],
        "state": "STATE_COMPLETED",
        "startTime": start.isoformat(),
        "endTime": (start + timedelta(minutes=50)).isoformat(),
        "version": "1",
        "sets": [
            {
                "id": str(uuid.uuid4()),
                "exercise": planned["exercise"],
                "position": position,
                "reps": planned["repsMax"],
                "weightKg": squat_kg if planned["exercise"] == SQUAT else planned["weightKg"],
                "repsInReserve": 1,
                "completeTime": (start + timedelta(minutes=5 * (position + 1))).isoformat(),
                "version": "1",
            }
            for position, planned in enumerate(planned)
        ],
    }


async def test_a_session_uploaded_twice_is_one_session_and_its_record_one_arabic_push(
    edge: Edge,
    nats_url: str,
    event_prefix: str,
    identity_config: IdentitySettings,
    fcm: FcmServer,
) -> None:
    coach = await new_admin(edge, nats_url, event_prefix, identity_config)
    member = await new_account(edge, nats_url, event_prefix, languageCode="ar")
    phone = {"token": f"fcm-{uuid.uuid4().hex}", "platform": "PLATFORM_ANDROID"}
    devices = await call("POST", f"{edge.base_url}/v1/{member.name}/devices", phone, **member.auth)
    assert devices.status == 200, devices.body
    workout = {
        "displayName": "Legs",
        "blocks": [
            {
                "kind": "KIND_STRAIGHT_SETS",
                "sets": [{"exercise": SQUAT, "repsMin": 5, "repsMax": 5, "weightKg": 80}] * 3,
            },
            {
                "kind": "KIND_AMRAP",
                "timeCapSeconds": 300,
                "sets": [{"exercise": "exercises/burpee", "repsMin": 10, "repsMax": 10}],
            },
        ],
    }
    created = await call(
        "POST", f"{edge.base_url}/v1/{STUDIO}/workoutTemplates", workout, **coach.auth
    )
    assert created.status == 200, created.body
    template = (await call("GET", f"{edge.base_url}/v1/{created.body['name']}", **member.auth)).body

    session = logged_offline(member.name, template, squat_kg=90)
    url = f"{edge.base_url}/v1/{session['name']}"
    first = await call("PUT", url, session, **member.auth)
    again = await call("PUT", url, session, **member.auth)  # The app never heard the answer.
    assert first.status == again.status == 200, first.body
    assert again.body == first.body
    listed = await call("GET", f"{edge.base_url}/v1/{member.name}/workoutSessions", **member.auth)
    assert [s["name"] for s in listed.body["workoutSessions"]] == [session["name"]]
    assert first.body["volumeKg"] == 3 * 5 * 90

    (push,) = await eventually(lambda: pushes_to(fcm, phone["token"], 1))
    assert push["notification"]["title"] == "رقم قياسي شخصي جديد!"
    assert push["notification"]["body"].startswith("سكوات خلفي بالبار: 90 كغ × 5")

    # A heavier session next: its push arriving second shows the first upload's came once.
    heavier = logged_offline(member.name, template, squat_kg=95)
    assert (
        await call("PUT", f"{edge.base_url}/v1/{heavier['name']}", heavier, **member.auth)
    ).status == 200
    pushes = await eventually(lambda: pushes_to(fcm, phone["token"], 2))
    assert [p["notification"]["body"].split(" كغ")[0] for p in pushes] == [
        "سكوات خلفي بالبار: 90",
        "سكوات خلفي بالبار: 95",
    ]
    records = await call("GET", f"{edge.base_url}/v1/{member.name}/personalRecords", **member.auth)
    rep_max = next(
        r for r in records.body["personalRecords"] if r["kind"] == "KIND_REP_MAX" and r["reps"] == 5
    )
    assert (rep_max["exercise"], rep_max["weightKg"]) == (SQUAT, 95)
    summary = await call(
        "GET", f"{edge.base_url}/v1/{member.name}/trainingSummary?timeZone=UTC", **member.auth
    )
    assert summary.status == 200, summary.body
    assert (summary.body["sessions"], summary.body["currentStreakDays"]) == (2, 1)
    quads = next(m for m in summary.body["muscleVolumes"] if m["muscle"] == "quads")
    assert quads["volumeKg"] == 3 * 5 * 90 + 3 * 5 * 95


async def pushes_to(fcm: FcmServer, token: str, at_least: int) -> list[dict[str, Any]] | None:
    """The pushes FCM accepted for `token`, once there are `at_least`."""
    found = [message for message in fcm.messages if message["token"] == token]
    return found if len(found) >= at_least else None


async def test_a_member_s_sessions_are_theirs_and_impossible_numbers_are_refused(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    template = {"name": "", "displayName": "Free", "blocks": []}
    session = logged_offline(member.name, template, squat_kg=0)
    session.pop("workoutTemplate")
    session["sets"] = [
        {"id": str(uuid.uuid4()), "exercise": SQUAT, "reps": 5, "weightKg": 60, "version": "1"}
    ]
    url = f"{edge.base_url}/v1/{session['name']}"
    by_other = await call("PUT", url, session, **other.auth)
    read_by_other = await call("GET", url, **other.auth)
    assert (by_other.status, read_by_other.status) == (403, 403)

    refusals = []
    for field, value in (("weightKg", -5), ("weightKg", "NaN"), ("reps", 5000)):
        bad = {**session, "sets": [{**session["sets"][0], field: value}]}
        reply = await call("PUT", url, bad, **member.auth)
        assert reply.status == 400, reply.body
        refusals.append(violations(reply))
    assert refusals == [
        {"workout_session.sets[0].weight_kg": "field.out_of_range"},
        {"workout_session.sets[0].weight_kg": "field.not_finite"},
        {"workout_session.sets[0].reps": "field.out_of_range"},
    ]
    assert (await call("GET", url, **member.auth)).status == 404  # Nothing was stored.
    stored = await call("PUT", url, session, **member.auth)
    assert stored.status == 200
    assert (await call("GET", url, **member.auth)).status == 200


async def test_a_coach_puts_a_member_on_a_program_and_the_member_asks_for_the_next_set(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    coach = await new_admin(edge, nats_url, event_prefix, identity_config)
    member = await new_account(edge, nats_url, event_prefix)
    workout = {
        "displayName": "Squat day",
        "blocks": [
            {
                "kind": "KIND_STRAIGHT_SETS",
                "sets": [{"exercise": SQUAT, "repsMin": 6, "repsMax": 8, "weightKg": 100}],
            }
        ],
    }
    template = await call(
        "POST", f"{edge.base_url}/v1/{STUDIO}/workoutTemplates", workout, **coach.auth
    )
    program = {
        "displayName": "Four weeks",
        "weeks": 4,
        "days": [
            {"week": week, "day": 1, "workoutTemplate": template.body["name"]}
            for week in range(1, 5)
        ],
        "deloadWeeks": [4],
    }
    by_member = await call("POST", f"{edge.base_url}/v1/{STUDIO}/programs", program, **member.auth)
    assert by_member.status == 403
    created = await call("POST", f"{edge.base_url}/v1/{STUDIO}/programs", program, **coach.auth)
    assert created.status == 200, created.body
    assert created.body["progression"]["loadIncrementKg"] == 2.5  # The default rule.
    today = datetime.now(UTC).date().isoformat()
    assignment = {"member": member.name, "startDate": today, "timeZone": "UTC"}
    assigned = await call(
        "POST", f"{edge.base_url}/v1/{created.body['name']}:assign", assignment, **coach.auth
    )
    assert assigned.status == 200, assigned.body
    suggestion_url = f"{edge.base_url}/v1/{assigned.body['name']}:suggestNextSet?exercise={SQUAT}"
    suggested = await call("GET", suggestion_url, **member.auth)
    assert suggested.status == 200, suggested.body
    assert (suggested.body["reps"], suggested.body["weightKg"]) == (6, 100)
    assert (suggested.body["reason"], suggested.body["week"]) == ("REASON_AS_PLANNED", 1)
    other = await new_account(edge, nats_url, event_prefix)
    assert (await call("GET", suggestion_url, **other.auth)).status == 403


async def test_a_member_checked_in_to_a_class_finds_its_workout_ready_once(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    coach = await new_admin(edge, nats_url, event_prefix, identity_config)
    member = await new_account(edge, nats_url, event_prefix)
    workout = {
        "displayName": "Spin & lift",
        "blocks": [
            {"kind": "KIND_CIRCUIT", "rounds": 3, "sets": [{"exercise": SQUAT, "repsMin": 10}]}
        ],
    }
    template = await call(
        "POST", f"{edge.base_url}/v1/{STUDIO}/workoutTemplates", workout, **coach.auth
    )
    class_session = f"{STUDIO}/classSessions/{uuid.uuid4()}"
    attached = await call(
        "PATCH",
        f"{edge.base_url}/v1/{class_session}/workout",
        {"workoutTemplate": template.body["name"]},
        **coach.auth,
    )
    assert attached.status == 200, attached.body
    by_member = await call(
        "PATCH",
        f"{edge.base_url}/v1/{class_session}/workout",
        {"workoutTemplate": template.body["name"]},
        **member.auth,
    )
    assert by_member.status == 403

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=50)  # The class's.
    checked_in = make_envelope(
        source="scheduling",
        event_type="scheduling.attendance.checked_in.v1",
        subject=f"{member.name}/bookings/{uuid.uuid4()}",
        payload=BookingChanged(
            booking=f"{member.name}/bookings/{uuid.uuid4()}",
            member=member.name,
            class_session=class_session,
            class_start_time=Timestamp(seconds=int(start.timestamp())),
        ),
    )
    await publish(nats_url, event_prefix, checked_in, times=2)  # Delivered twice.
    sessions_url = f"{edge.base_url}/v1/{member.name}/workoutSessions"

    async def prepared() -> list[dict[str, Any]] | None:
        listed = await call("GET", sessions_url, **member.auth)
        return listed.body.get("workoutSessions") or None

    (session,) = await eventually(prepared)
    assert session["state"] == "STATE_IN_PROGRESS"
    assert (session["workoutTemplate"], session["classSession"]) == (
        template.body["name"],
        class_session,
    )
    assert session["startTime"] == start.isoformat().replace("+00:00", "Z")
    logged = {
        **session,
        "state": "STATE_COMPLETED",
        "endTime": (start + timedelta(minutes=45)).isoformat(),
        "version": "1",
        "sets": [
            {"id": str(uuid.uuid4()), "exercise": SQUAT, "reps": 10, "weightKg": 40, "version": "1"}
        ],
    }
    done = await call("PUT", f"{edge.base_url}/v1/{session['name']}", logged, **member.auth)
    assert done.status == 200, done.body
    assert (done.body["state"], done.body["displayName"]) == ("STATE_COMPLETED", "Spin & lift")


async def publish(nats_url: str, prefix: str, envelope: Envelope, times: int) -> None:
    """`envelope` on its source's stream, as an outbox relay publishes it (again: a redelivery)."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        await ensure_stream(js, prefix, envelope.source)
        for _ in range(times):
            await js.publish(nats_subject(prefix, envelope.type), envelope.SerializeToString())
    finally:
        await connection.close()


async def test_a_member_exports_their_data_and_deletes_it_in_two_steps(
    edge: Edge, nats_url: str, event_prefix: str
) -> None:
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    consent_url = f"{edge.base_url}/v1/{member.name}/dataConsent"
    given = await call(
        "PATCH", f"{consent_url}?updateMask=heartRate", {"heartRate": True}, **member.auth
    )
    assert given.status == 200, given.body
    assert (given.body["heartRate"], given.body["location"]) == (True, False)
    template = {"name": "", "displayName": "Free", "blocks": []}
    session = logged_offline(member.name, template, squat_kg=0)
    session.pop("workoutTemplate")
    session["sets"] = [
        {"id": str(uuid.uuid4()), "exercise": SQUAT, "reps": 3, "weightKg": 70, "version": "1"}
    ]
    assert (
        await call("PUT", f"{edge.base_url}/v1/{session['name']}", session, **member.auth)
    ).status == 200

    export_url = f"{edge.base_url}/v1/{member.name}/activityData:export"
    assert (await call("GET", export_url, **other.auth)).status == 403
    exported = await call("GET", export_url, **member.auth)
    assert exported.status == 200, exported.body
    assert exported.body["member"] == member.name
    assert [s["name"] for s in exported.body["workoutSessions"]] == [session["name"]]
    assert exported.body["dataConsent"]["heartRate"] is True
    assert {r["kind"] for r in exported.body["personalRecords"]} == {
        "KIND_ESTIMATED_ONE_REP_MAX",
        "KIND_REP_MAX",
    }

    start_url = f"{edge.base_url}/v1/{member.name}/activityData:startDeletion"
    delete_url = f"{edge.base_url}/v1/{member.name}/activityData:delete"
    assert (await call("POST", start_url, {}, **other.auth)).status == 403
    started = await call("POST", start_url, {}, **member.auth)
    assert started.status == 200, started.body
    assert started.body["workoutSessions"] == 1
    wrong = await call("POST", delete_url, {"confirmationToken": "nope"}, **member.auth)
    assert violations(wrong) == {"confirmation_token": "activity_data.invalid_confirmation"}
    confirmed = {"confirmationToken": started.body["confirmationToken"]}
    assert (await call("POST", delete_url, confirmed, **member.auth)).status == 200
    listed = await call("GET", f"{edge.base_url}/v1/{member.name}/workoutSessions", **member.auth)
    assert listed.body.get("workoutSessions", []) == []


async def test_a_member_copies_a_coach_s_workout_and_adapts_their_copy_alone(
    edge: Edge, nats_url: str, event_prefix: str, identity_config: IdentitySettings
) -> None:
    coach = await new_admin(edge, nats_url, event_prefix, identity_config)
    member = await new_account(edge, nats_url, event_prefix)
    other = await new_account(edge, nats_url, event_prefix)
    workout = {
        "displayName": "Upper",
        "blocks": [
            {
                "kind": "KIND_STRAIGHT_SETS",
                "sets": [{"exercise": "exercises/barbell-bench-press", "repsMin": 8}],
            }
        ],
    }
    original = await call(
        "POST", f"{edge.base_url}/v1/{STUDIO}/workoutTemplates", workout, **coach.auth
    )
    copies = f"{edge.base_url}/v1/{member.name}/workoutTemplates"
    copied = await call("POST", f"{copies}:copy", {"source": original.body["name"]}, **member.auth)
    assert copied.status == 200, copied.body
    assert copied.body["name"].startswith(f"{member.name}/workoutTemplates/")
    assert (copied.body["source"], copied.body["author"]) == (original.body["name"], member.name)
    adapted_blocks = [
        {
            "kind": "KIND_STRAIGHT_SETS",
            "sets": [{"exercise": "exercises/dumbbell-bench-press", "repsMin": 10}],
        }
    ]
    adapted = await call(
        "PATCH",
        f"{edge.base_url}/v1/{copied.body['name']}?updateMask=blocks",
        {"blocks": adapted_blocks, "displayName": "ignored"},
        **member.auth,
    )
    assert adapted.status == 200, adapted.body
    assert adapted.body["displayName"] == "Upper"
    assert adapted.body["blocks"][0]["sets"][0]["exercise"] == "exercises/dumbbell-bench-press"
    unchanged = await call("GET", f"{edge.base_url}/v1/{original.body['name']}", **member.auth)
    assert unchanged.body["blocks"][0]["sets"][0]["exercise"] == "exercises/barbell-bench-press"

    copy_url = f"{edge.base_url}/v1/{copied.body['name']}"
    assert (await call("GET", copy_url, **other.auth)).status == 403
    assert (await call("GET", copies, **other.auth)).status == 403
    assert (await call("PATCH", copy_url, {"displayName": "x"}, **other.auth)).status == 403
    listed = await call("GET", copies, **member.auth)
    assert [t["name"] for t in listed.body["workoutTemplates"]] == [copied.body["name"]]

    own = logged_offline(member.name, adapted.body, squat_kg=0)
    assert (
        await call("PUT", f"{edge.base_url}/v1/{own['name']}", own, **member.auth)
    ).status == 200
    theirs = logged_offline(other.name, adapted.body, squat_kg=0)
    refused = await call("PUT", f"{edge.base_url}/v1/{theirs['name']}", theirs, **other.auth)
    assert violations(refused) == {"workout_session.workout_template": "workout_template.not_found"}
