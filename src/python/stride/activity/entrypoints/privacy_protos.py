"""Consent between protobuf and the domain, and the export written as JSON in parts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from google.api import httpbody_pb2
from google.protobuf import json_format
from google.protobuf.message import Message

from stride.activity.domain.privacy import Consent
from stride.activity.domain.sessions import WorkoutSession
from stride.activity.entrypoints.goal_protos import goal_to_proto
from stride.activity.entrypoints.program_protos import assignment_to_proto
from stride.activity.entrypoints.session_protos import record_to_proto, session_to_proto
from stride.activity.service_layer.handlers import MemberExport
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.grpc.timestamps import timestamp

JSON = "application/json; charset=utf-8"


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
    routes: AsyncIterator[tuple[str, bytes]],
) -> AsyncIterator[httpbody_pb2.HttpBody]:
    """One JSON object, written as it is read: the REST representation of each resource, and
    each kept route as its activity's name and a GPX document."""
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
    }
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ', "workoutSessions": ['
    yield httpbody_pb2.HttpBody(content_type=JSON, data=opening.encode())
    first = True
    async for page in sessions:
        parts = _joined(json.dumps(_json(session_to_proto(s)), ensure_ascii=False) for s in page)
        yield httpbody_pb2.HttpBody(data=(parts if first else "," + parts).encode())
        first = False
    yield httpbody_pb2.HttpBody(data=b'], "routes": [')
    first = True
    async for activity, gpx in routes:
        part = json.dumps({"importedActivity": activity, "gpx": gpx.decode()}, ensure_ascii=False)
        yield httpbody_pb2.HttpBody(data=(part if first else "," + part).encode())
        first = False
    yield httpbody_pb2.HttpBody(data=b"]}")


def _json(message: Message) -> object:
    return json_format.MessageToDict(message)


def _joined(parts: Iterable[str]) -> str:
    return ",".join(parts)
