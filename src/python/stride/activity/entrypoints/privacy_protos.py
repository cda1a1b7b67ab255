"""Consent between protobuf and the domain, and the export written as JSON in parts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import TypeVar

from google.api import httpbody_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

from stride.activity.domain.health import Rollup
from stride.activity.domain.privacy import Consent
from stride.activity.domain.providers import ImportedActivity
from stride.activity.domain.sessions import WorkoutSession
from stride.activity.entrypoints.file_protos import best_effort_to_proto
from stride.activity.entrypoints.goal_protos import goal_to_proto
from stride.activity.entrypoints.health_protos import rollup_to_proto
from stride.activity.entrypoints.program_protos import assignment_to_proto
from stride.activity.entrypoints.provider_protos import connection_to_proto, imported_to_proto
from stride.activity.entrypoints.session_protos import record_to_proto, session_to_proto
from stride.activity.service_layer.handlers import MemberExport
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.grpc.timestamps import timestamp

JSON = "application/json; charset=utf-8"
Item = TypeVar("Item")


def consent_to_proto(consent: Consent) -> pb.DataConsent:
    message = pb.DataConsent(
        name=consent.resource_name,
        heart_rate=consent.heart_rate,
        location=consent.location,
        sleep=consent.sleep,
    )
    if consent.update_time is not None:
        message.update_time.CopyFrom(timestamp(consent.update_time))
    return message


async def export_document(
    member: str,
    now: datetime,
    overview: MemberExport,
    sessions: AsyncIterator[list[WorkoutSession]],
    imported: AsyncIterator[list[ImportedActivity]],
    health_days: AsyncIterator[list[Rollup]],
    routes: AsyncIterator[tuple[str, bytes]],
) -> AsyncIterator[httpbody_pb2.HttpBody]:
    """One JSON object, written as it is read: the REST representation of each resource
    (provider connections without their tokens), and each kept route as its activity's name
    and a GPX document."""
    streak = overview.streak
    head = {
        "member": member,
        "exportTime": now.isoformat(),
        "dataConsent": _json(consent_to_proto(overview.consent)),
        "streak": {
            "currentStreakDays": streak.days if streak else 0,
            "longestStreakDays": streak.longest if streak else 0,
            "lastTrainingDate": streak.last_day.isoformat() if streak else "",
        },
        "personalRecords": [_json(record_to_proto(r)) for r in overview.records],
        "goals": [_json(goal_to_proto(goal, progress)) for goal, progress in overview.goals],
        "programAssignments": [_json(assignment_to_proto(a)) for a in overview.assignments],
        "bestEfforts": [_json(best_effort_to_proto(e)) for e in overview.best_efforts],
        "providerConnections": [_json(connection_to_proto(c)) for c in overview.connections],
    }
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "workoutSessions": ['
    yield httpbody_pb2.HttpBody(content_type=JSON, data=opening.encode())
    async for part in _array_parts(sessions, session_to_proto):
        yield part
    yield httpbody_pb2.HttpBody(data=b'], "importedActivities": [')
    async for part in _array_parts(imported, imported_to_proto):
        yield part
    yield httpbody_pb2.HttpBody(data=b'], "healthDays": [')
    async for part in _array_parts(health_days, rollup_to_proto):
        yield part
    yield httpbody_pb2.HttpBody(data=b'], "routes": [')
    first = True
    async for activity, gpx in routes:
        route = json.dumps({"importedActivity": activity, "gpx": gpx.decode()}, ensure_ascii=False)
        yield httpbody_pb2.HttpBody(data=(route if first else "," + route).encode())
        first = False
    yield httpbody_pb2.HttpBody(data=b"]}")


async def _array_parts(
    pages: AsyncIterator[list[Item]], to_proto: Callable[[Item], Message]
) -> AsyncIterator[httpbody_pb2.HttpBody]:
    """A JSON array's items, a page per part, each item its resource's REST representation."""
    first = True
    async for page in pages:
        parts = _joined(json.dumps(_json(to_proto(item)), ensure_ascii=False) for item in page)
        yield httpbody_pb2.HttpBody(data=(parts if first else "," + parts).encode())
        first = False


def _json(message: Message) -> object:
    return json_format.MessageToDict(message)


def _joined(parts: Iterable[str]) -> str:
    return ",".join(parts)
