"""ActivityService over gRPC: proto → command → use case → proto, the mapping in *_protos.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.api import httpbody_pb2
from google.protobuf import empty_pb2

from stride.activity import translations  # noqa: F401 - registers Activity's texts.
from stride.activity.adapters.strava import parse_webhook_event
from stride.activity.entrypoints.exercise_protos import (
    EXERCISE_FILTER,
    exercise_from_proto,
    exercise_to_proto,
)
from stride.activity.entrypoints.provider_protos import (
    connection_ids,
    connection_to_proto,
    imported_to_proto,
)
from stride.activity.entrypoints.resource_names import (
    exercise_name,
    session_ids,
    studio_name,
    template_ids,
)
from stride.activity.entrypoints.session_protos import (
    record_to_proto,
    session_to_proto,
    upload_from_proto,
)
from stride.activity.entrypoints.template_protos import blocks_from_proto, template_to_proto
from stride.activity.service_layer import handlers, providers
from stride.activity.service_layer.commands import (
    CompleteConnection,
    CreateExercise,
    CreateWorkoutTemplate,
    ListExercises,
    UploadWorkoutSession,
    VerifyWebhook,
)
from stride.activity.service_layer.ports import ChangeQueue, Providers
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.activity.v1 import activity_service_pb2 as pb
from stride.activity.v1 import activity_service_pb2_grpc as pb_grpc
from stride.platform.clock import Clock, utcnow
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_user_name


@dataclass(frozen=True)
class ProviderWiring:
    """The wearable providers configured, the queue their webhooks feed, and what Strava's
    webhooks must show: our verify token (the handshake) and our subscription's id (events)."""

    providers: Providers
    changes: ChangeQueue
    strava_verify_token: str
    strava_subscription_id: str
    clock: Clock = utcnow


class ActivityServicer(pb_grpc.ActivityServiceServicer):
    def __init__(
        self, unit_of_work: Callable[[], ActivityUnitOfWork], wiring: ProviderWiring
    ) -> None:
        self._unit_of_work = unit_of_work
        self._wiring = wiring

    async def ListExercises(  # noqa: N802 - generated gRPC method name.
        self, request: pb.ListExercisesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListExercisesResponse:
        page = Page.of(request)
        command = ListExercises(
            studio=studio_name(request.studio, "studio") if request.studio else "",
            query=request.query,
            comparisons=EXERCISE_FILTER.parse(request.filter),
            offset=page.offset,
            limit=page.fetch_limit,
        )
        exercises, next_page_token = page.cut(
            await handlers.list_exercises(self._unit_of_work(), command)
        )
        return pb.ListExercisesResponse(
            exercises=[exercise_to_proto(e) for e in exercises], next_page_token=next_page_token
        )

    async def GetExercise(  # noqa: N802
        self, request: pb.GetExerciseRequest, context: grpc.aio.ServicerContext
    ) -> pb.Exercise:
        name = exercise_name(request.name, "name")
        return exercise_to_proto(await handlers.get_exercise(self._unit_of_work(), name))

    async def CreateExercise(  # noqa: N802
        self, request: pb.CreateExerciseRequest, context: grpc.aio.ServicerContext
    ) -> pb.Exercise:
        command = CreateExercise(
            studio=studio_name(request.parent, "parent"),
            exercise_id=request.exercise_id,
            exercise=exercise_from_proto(request.exercise),
        )
        return exercise_to_proto(await handlers.create_exercise(self._unit_of_work(), command))

    async def CreateWorkoutTemplate(  # noqa: N802
        self, request: pb.CreateWorkoutTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkoutTemplate:
        given = request.workout_template
        command = CreateWorkoutTemplate(
            studio=studio_name(request.parent, "parent"),
            display_name=given.display_name,
            description=given.description,
            blocks=blocks_from_proto(given),
        )
        return template_to_proto(await handlers.create_template(self._unit_of_work(), command))

    async def GetWorkoutTemplate(  # noqa: N802
        self, request: pb.GetWorkoutTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkoutTemplate:
        studio, template_id = template_ids(request.name, "name")
        template = await handlers.get_template(self._unit_of_work(), studio, template_id)
        return template_to_proto(template)

    async def ListWorkoutTemplates(  # noqa: N802
        self, request: pb.ListWorkoutTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWorkoutTemplatesResponse:
        studio = studio_name(request.parent, "parent")
        page = Page.of(request)
        fetched = await handlers.list_templates(
            self._unit_of_work(), studio, page.offset, page.fetch_limit
        )
        templates, next_page_token = page.cut(fetched)
        return pb.ListWorkoutTemplatesResponse(
            workout_templates=[template_to_proto(t) for t in templates],
            next_page_token=next_page_token,
        )

    async def UploadWorkoutSession(  # noqa: N802
        self, request: pb.UploadWorkoutSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkoutSession:
        given = request.workout_session
        member_id, session_id = session_ids(given.name, "workout_session.name")
        fields, sets = upload_from_proto(given)
        command = UploadWorkoutSession(member_id, session_id, fields, sets)
        return session_to_proto(await handlers.upload_session(self._unit_of_work(), command))

    async def GetWorkoutSession(  # noqa: N802
        self, request: pb.GetWorkoutSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkoutSession:
        member_id, session_id = session_ids(request.name, "name")
        session = await handlers.get_session(self._unit_of_work(), member_id, session_id)
        return session_to_proto(session)

    async def ListWorkoutSessions(  # noqa: N802
        self, request: pb.ListWorkoutSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWorkoutSessionsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
        fetched = await handlers.list_sessions(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        sessions, next_page_token = page.cut(fetched)
        return pb.ListWorkoutSessionsResponse(
            workout_sessions=[session_to_proto(s) for s in sessions],
            next_page_token=next_page_token,
        )

    async def ListPersonalRecords(  # noqa: N802
        self, request: pb.ListPersonalRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPersonalRecordsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
        fetched = await handlers.list_records(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        records, next_page_token = page.cut(fetched)
        return pb.ListPersonalRecordsResponse(
            personal_records=[record_to_proto(r) for r in records],
            next_page_token=next_page_token,
        )

    async def StartProviderConnection(  # noqa: N802
        self, request: pb.StartProviderConnectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartProviderConnectionResponse:
        member_id, provider = connection_ids(request.name, "name")
        uri, expire_time = await providers.start_connection(
            self._unit_of_work(),
            self._wiring.providers,
            member_id,
            provider,
            self._wiring.clock,
        )
        response = pb.StartProviderConnectionResponse(authorize_uri=uri)
        response.expire_time.FromDatetime(expire_time)
        return response

    async def CompleteProviderConnection(  # noqa: N802
        self, request: pb.CompleteProviderConnectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ProviderConnection:
        member_id, provider = connection_ids(request.name, "name")
        command = CompleteConnection(
            member_id, provider, request.code, request.state, request.scope
        )
        connection = await providers.complete_connection(
            self._unit_of_work, self._wiring.providers, command, self._wiring.clock
        )
        return connection_to_proto(connection)

    async def ListProviderConnections(  # noqa: N802
        self, request: pb.ListProviderConnectionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProviderConnectionsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
        fetched = await providers.list_connections(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        connections, next_page_token = page.cut(fetched)
        return pb.ListProviderConnectionsResponse(
            provider_connections=[connection_to_proto(c) for c in connections],
            next_page_token=next_page_token,
        )

    async def DeleteProviderConnection(  # noqa: N802
        self, request: pb.DeleteProviderConnectionRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        member_id, provider = connection_ids(request.name, "name")
        await providers.disconnect(
            self._unit_of_work, self._wiring.providers, member_id, provider, self._wiring.clock
        )
        return empty_pb2.Empty()

    async def ListImportedActivities(  # noqa: N802
        self, request: pb.ListImportedActivitiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListImportedActivitiesResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
        fetched = await providers.list_imported(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        activities, next_page_token = page.cut(fetched)
        return pb.ListImportedActivitiesResponse(
            imported_activities=[imported_to_proto(a) for a in activities],
            next_page_token=next_page_token,
        )

    async def VerifyStravaWebhook(  # noqa: N802
        self, request: pb.VerifyStravaWebhookRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        hub = request.hub
        command = VerifyWebhook(hub.mode, hub.challenge, hub.verify_token)
        challenge = providers.verify_webhook(command, self._wiring.strava_verify_token)
        # The body Strava expects, key and all; proto3 JSON would spell it `hubChallenge`.
        body = json.dumps({"hub.challenge": challenge})
        return httpbody_pb2.HttpBody(content_type="application/json", data=body.encode())

    async def ReceiveStravaEvent(  # noqa: N802
        self, request: pb.ReceiveStravaEventRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await providers.receive_webhook(
            self._unit_of_work(),
            self._wiring.changes,
            parse_webhook_event(request.payload.data),
            self._wiring.strava_subscription_id,
        )
        return empty_pb2.Empty()
