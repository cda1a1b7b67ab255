"""ActivityService over gRPC: proto → command → use case → proto, the mapping in *_protos.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc

from stride.activity import translations  # noqa: F401 - registers Activity's texts.
from stride.activity.config import ActivitySettings
from stride.activity.domain.live import Heartbeat
from stride.activity.entrypoints.exercise_protos import (
    EXERCISE_FILTER,
    exercise_from_proto,
    exercise_to_proto,
)
from stride.activity.entrypoints.live_protos import (
    board_to_proto,
    heartbeat_to_proto,
    live_update_to_proto,
    reading_to_proto,
    readings_from_proto,
)
from stride.activity.entrypoints.resource_names import (
    class_session_name,
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
from stride.activity.service_layer import handlers
from stride.activity.service_layer.commands import (
    CreateExercise,
    CreateWorkoutTemplate,
    ListExercises,
    RecordHeartRate,
    UploadWorkoutSession,
    WatchWorkoutSession,
)
from stride.activity.service_layer.handlers import LiveNotifier
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.activity.v1 import activity_service_pb2 as pb
from stride.activity.v1 import activity_service_pb2_grpc as pb_grpc
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_user_name


class ActivityServicer(pb_grpc.ActivityServiceServicer):
    def __init__(
        self,
        unit_of_work: Callable[[], ActivityUnitOfWork],
        live: LiveNotifier,
        settings: ActivitySettings,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._live = live
        self._settings = settings

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
        session = await handlers.upload_session(self._unit_of_work(), command, self._live)
        return session_to_proto(session)

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

    async def WatchWorkoutSession(  # noqa: N802
        self, request: pb.WatchWorkoutSessionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.LiveUpdate]:
        member_id, session_id = session_ids(request.name, "name")
        command = WatchWorkoutSession(member_id, session_id, request.after_sequence)
        await handlers.check_watch(self._unit_of_work(), command)
        # Headers now, not with the first update: the app knows it is listening (an
        # EventSource opens) before anything happens.
        await context.send_initial_metadata(())
        updates = handlers.watch_session(
            self._unit_of_work, self._live, command, self._settings.live_heartbeat_seconds
        )
        async for update in updates:
            if isinstance(update, Heartbeat):
                yield heartbeat_to_proto(update, request.name)
            else:
                yield live_update_to_proto(update)

    async def RecordHeartRate(  # noqa: N802
        self, request: pb.RecordHeartRateRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordHeartRateResponse:
        member_id, session_id = session_ids(request.name, "name")
        command = RecordHeartRate(member_id, session_id, readings_from_proto(request))
        updates = await handlers.record_heart_rate(
            self._unit_of_work(), command, self._live, self._settings.default_max_heart_rate
        )
        return pb.RecordHeartRateResponse(
            readings=[
                reading_to_proto(update.change.heart_rate)
                for update in updates
                if update.change.heart_rate is not None
            ],
            live_sequence=updates[-1].sequence,
        )

    async def WatchClassHeartRates(  # noqa: N802
        self, request: pb.WatchClassHeartRatesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ClassHeartRates]:
        class_session = class_session_name(request.class_session, "class_session")
        boards = handlers.watch_class_heart_rates(
            self._unit_of_work,
            self._live,
            class_session,
            self._settings.live_heartbeat_seconds,
            self._settings.class_board_min_interval_seconds,
        )
        await context.send_initial_metadata(())
        async for changed in boards:
            yield board_to_proto(changed)
