"""ActivityService over gRPC: proto → command → use case → proto, the mapping in *_protos.py."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from stride.activity import translations  # noqa: F401 - registers Activity's texts.
from stride.activity.domain.health import RollupRange
from stride.activity.entrypoints.exercise_protos import (
    EXERCISE_FILTER,
    exercise_from_proto,
    exercise_to_proto,
)
from stride.activity.entrypoints.health_protos import (
    anchor_to_proto,
    device_from_proto,
    kind_from_proto,
    priority_from_proto,
    resolution_from_proto,
    rollup_to_proto,
    samples_from_proto,
    settings_to_proto,
    time_range_from_proto,
    upload_to_proto,
)
from stride.activity.entrypoints.resource_names import (
    exercise_name,
    health_anchor_ids,
    health_settings_member,
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
from stride.activity.service_layer import handlers, health
from stride.activity.service_layer.commands import (
    CreateExercise,
    CreateWorkoutTemplate,
    ListExercises,
    ListHealthRollups,
    UpdateHealthPriority,
    UploadHealthSamples,
    UploadWorkoutSession,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.activity.v1 import activity_service_pb2 as pb
from stride.activity.v1 import activity_service_pb2_grpc as pb_grpc
from stride.platform.grpc.field_masks import updated_fields
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_user_name


class ActivityServicer(pb_grpc.ActivityServiceServicer):
    def __init__(
        self, unit_of_work: Callable[[], ActivityUnitOfWork], health_policy: health.HealthPolicy
    ) -> None:
        self._unit_of_work = unit_of_work
        self._health_policy = health_policy

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

    async def BatchUploadHealthSamples(  # noqa: N802
        self, request: pb.BatchUploadHealthSamplesRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchUploadHealthSamplesResponse:
        command = UploadHealthSamples(
            member_id=parse_user_name(request.parent, "parent"),
            source=request.source,
            device=device_from_proto(request.device),
            samples=samples_from_proto(request),
            deleted_sample_ids=tuple(request.deleted_sample_ids),
            sync_anchor=request.sync_anchor,
        )
        outcome = await health.upload_samples(self._unit_of_work(), command, self._health_policy)
        return upload_to_proto(outcome.results, outcome.deleted_count)

    async def GetHealthSyncAnchor(  # noqa: N802
        self, request: pb.GetHealthSyncAnchorRequest, context: grpc.aio.ServicerContext
    ) -> pb.HealthSyncAnchor:
        member_id, source = health_anchor_ids(request.name, "name")
        anchor, update_time = await health.get_anchor(self._unit_of_work(), member_id, source)
        return anchor_to_proto(request.name, anchor, update_time)

    async def ListHealthRollups(  # noqa: N802
        self, request: pb.ListHealthRollupsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListHealthRollupsResponse:
        member_id = parse_user_name(request.parent, "parent")
        start, end = time_range_from_proto(request)
        wanted = RollupRange(
            kind_from_proto(request.kind, "kind"),
            resolution_from_proto(request.resolution, "resolution"),
            start,
            end,
        )
        rollups = await health.list_rollups(
            self._unit_of_work(), ListHealthRollups(member_id, wanted)
        )
        return pb.ListHealthRollupsResponse(rollups=[rollup_to_proto(r) for r in rollups])

    async def GetHealthSettings(  # noqa: N802
        self, request: pb.GetHealthSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.HealthSettings:
        member_id = health_settings_member(request.name, "name")
        priority = await health.get_priority(self._unit_of_work(), member_id)
        return settings_to_proto(request.name, priority)

    async def UpdateHealthSettings(  # noqa: N802
        self, request: pb.UpdateHealthSettingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.HealthSettings:
        given = request.health_settings
        name = given.name
        member_id = health_settings_member(name, "health_settings.name")
        if "device_priority" not in updated_fields(request, {"device_priority"}):
            priority = await health.get_priority(self._unit_of_work(), member_id)
            return settings_to_proto(name, priority)
        command = UpdateHealthPriority(member_id, priority_from_proto(given))
        priority = await health.update_priority(self._unit_of_work(), command)
        return settings_to_proto(name, priority)
