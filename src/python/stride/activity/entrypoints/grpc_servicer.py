"""ActivityService over gRPC: proto → command → use case → proto, the mapping in *_protos.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
from google.api import httpbody_pb2
from google.protobuf import empty_pb2

from stride.activity import translations  # noqa: F401 - registers Activity's texts.
from stride.activity.adapters import fitbit, garmin
from stride.activity.adapters.strava import parse_webhook_event
from stride.activity.config import ActivitySettings
from stride.activity.domain.health import RollupRange
from stride.activity.domain.live import Heartbeat
from stride.activity.domain.privacy import CONSENT_PARTS
from stride.activity.entrypoints.exercise_protos import (
    EXERCISE_FILTER,
    exercise_from_proto,
    exercise_to_proto,
)
from stride.activity.entrypoints.file_protos import (
    GPX,
    best_effort_to_proto,
    uploaded_to_proto,
)
from stride.activity.entrypoints.goal_protos import goal_kind, goal_to_proto
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
from stride.activity.entrypoints.live_protos import (
    board_to_proto,
    heartbeat_to_proto,
    live_update_to_proto,
    reading_to_proto,
    readings_from_proto,
)
from stride.activity.entrypoints.privacy_protos import consent_to_proto, export_document
from stride.activity.entrypoints.program_protos import (
    assignment_to_proto,
    program_days_from_proto,
    program_to_proto,
    progression_from_proto,
    suggestion_to_proto,
)
from stride.activity.entrypoints.provider_protos import (
    connection_ids,
    connection_to_proto,
    imported_to_proto,
)
from stride.activity.entrypoints.resource_names import (
    assignment_ids,
    class_session_name,
    class_workout_session,
    consent_member,
    exercise_name,
    goal_ids,
    health_anchor_ids,
    health_settings_member,
    program_ids,
    route_ids,
    session_ids,
    studio_name,
    summary_member,
    template_ids,
    trends_member,
)
from stride.activity.entrypoints.session_protos import (
    record_to_proto,
    session_to_proto,
    summary_to_proto,
    summary_week,
    upload_from_proto,
)
from stride.activity.entrypoints.template_protos import (
    TEMPLATE_UPDATABLE,
    blocks_from_proto,
    template_to_proto,
)
from stride.activity.entrypoints.trend_protos import trends_to_proto
from stride.activity.service_layer import activity_files, handlers, health, providers, trends
from stride.activity.service_layer.commands import (
    AssignProgram,
    CompleteConnection,
    CreateExercise,
    CreateGoal,
    CreateProgram,
    CreateWorkoutTemplate,
    GetActivityTrends,
    ListExercises,
    ListHealthRollups,
    RecordHeartRate,
    SuggestNextSet,
    TemplateChanges,
    UpdateHealthPriority,
    UploadActivityFile,
    UploadHealthSamples,
    UploadWorkoutSession,
    VerifyWebhook,
    WatchWorkoutSession,
)
from stride.activity.service_layer.ports import (
    ActivityFiles,
    ChangeQueue,
    LiveNotifier,
    Providers,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.activity.v1 import activity_service_pb2 as pb
from stride.activity.v1 import activity_service_pb2_grpc as pb_grpc
from stride.platform.clock import Clock, utcnow
from stride.platform.grpc.field_masks import updated_fields
from stride.platform.grpc.no_content import no_content
from stride.platform.grpc.timestamps import timestamp
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_user_name

# Sessions per part of an export: each part one read, and a few hundred kilobytes of JSON.
EXPORT_PAGE = 100
# Routes per read of an export: each up to a few hundred kilobytes of GPX.
EXPORT_ROUTES_PAGE = 10


@dataclass(frozen=True)
class ProviderWiring:
    """The wearable providers configured, the queue their webhooks feed, and what their
    webhooks must show: Strava's our verify token (the handshake) and our subscription's id
    (events); Fitbit's our verification code (the check) and a signature under our client
    secret (notifications); Garmin's our client id (pushes)."""

    providers: Providers
    changes: ChangeQueue
    strava_verify_token: str
    strava_subscription_id: str
    fitbit_verification_code: str = ""
    fitbit_client_secret: str = ""
    garmin_client_id: str = ""
    clock: Clock = utcnow


class ActivityServicer(pb_grpc.ActivityServiceServicer):
    def __init__(
        self,
        unit_of_work: Callable[[], ActivityUnitOfWork],
        live: LiveNotifier,
        settings: ActivitySettings,
        health_policy: health.HealthPolicy,
        wiring: ProviderWiring,
        files: ActivityFiles,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._live = live
        self._settings = settings
        self._health_policy = health_policy
        self._wiring = wiring
        self._files = files

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
        owner, template_id = template_ids(request.name, "name")
        template = await handlers.get_template(self._unit_of_work(), owner, template_id)
        return template_to_proto(template)

    async def ListWorkoutTemplates(  # noqa: N802
        self, request: pb.ListWorkoutTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWorkoutTemplatesResponse:
        owner = (
            f"users/{parse_user_name(request.parent, 'parent')}"
            if request.parent.startswith("users/")
            else studio_name(request.parent, "parent")
        )
        page = Page.of(request)
        fetched = await handlers.list_templates(
            self._unit_of_work(), owner, page.offset, page.fetch_limit
        )
        templates, next_page_token = page.cut(fetched)
        return pb.ListWorkoutTemplatesResponse(
            workout_templates=[template_to_proto(t) for t in templates],
            next_page_token=next_page_token,
        )

    async def CopyWorkoutTemplate(  # noqa: N802
        self, request: pb.CopyWorkoutTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkoutTemplate:
        member_id = parse_user_name(request.parent, "parent")
        owner, template_id = template_ids(request.source, "source")
        copy = await handlers.copy_template(self._unit_of_work(), member_id, owner, template_id)
        return template_to_proto(copy)

    async def UpdateWorkoutTemplate(  # noqa: N802
        self, request: pb.UpdateWorkoutTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkoutTemplate:
        given = request.workout_template
        owner, template_id = template_ids(given.name, "workout_template.name")
        parts = updated_fields(request, TEMPLATE_UPDATABLE)
        changes = TemplateChanges(
            display_name=given.display_name if "display_name" in parts else None,
            description=given.description if "description" in parts else None,
            blocks=blocks_from_proto(given) if "blocks" in parts else None,
        )
        member_id = parse_user_name(owner, "workout_template.name")
        updated = await handlers.update_template(
            self._unit_of_work(), member_id, template_id, changes
        )
        return template_to_proto(updated)

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

    async def CreateProgram(  # noqa: N802
        self, request: pb.CreateProgramRequest, context: grpc.aio.ServicerContext
    ) -> pb.Program:
        given = request.program
        command = CreateProgram(
            studio=studio_name(request.parent, "parent"),
            display_name=given.display_name,
            description=given.description,
            weeks=given.weeks,
            days=program_days_from_proto(given),
            deload_weeks=tuple(given.deload_weeks),
            progression=progression_from_proto(given.progression),
        )
        return program_to_proto(await handlers.create_program(self._unit_of_work(), command))

    async def GetProgram(  # noqa: N802
        self, request: pb.GetProgramRequest, context: grpc.aio.ServicerContext
    ) -> pb.Program:
        studio, program_id = program_ids(request.name, "name")
        return program_to_proto(
            await handlers.get_program(self._unit_of_work(), studio, program_id)
        )

    async def AssignProgram(  # noqa: N802
        self, request: pb.AssignProgramRequest, context: grpc.aio.ServicerContext
    ) -> pb.ProgramAssignment:
        studio, program_id = program_ids(request.program, "program")
        command = AssignProgram(
            studio=studio,
            program_id=program_id,
            member_id=parse_user_name(request.member, "member"),
            start_date=request.start_date,
            time_zone=request.time_zone,
        )
        return assignment_to_proto(await handlers.assign_program(self._unit_of_work(), command))

    async def ListProgramAssignments(  # noqa: N802
        self, request: pb.ListProgramAssignmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProgramAssignmentsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
        fetched = await handlers.list_assignments(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        assignments, next_page_token = page.cut(fetched)
        return pb.ListProgramAssignmentsResponse(
            program_assignments=[assignment_to_proto(a) for a in assignments],
            next_page_token=next_page_token,
        )

    async def SuggestNextSet(  # noqa: N802
        self, request: pb.SuggestNextSetRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetSuggestion:
        member_id, assignment_id = assignment_ids(request.program_assignment, "program_assignment")
        command = SuggestNextSet(
            member_id, assignment_id, exercise_name(request.exercise, "exercise")
        )
        suggestion, week, day = await handlers.suggest_next_set(self._unit_of_work(), command)
        return suggestion_to_proto(suggestion, week, day)

    async def UpdateClassWorkout(  # noqa: N802
        self, request: pb.UpdateClassWorkoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassWorkout:
        given = request.class_workout
        class_session = class_workout_session(given.name, "class_workout.name")
        updated_fields(request, ("workout_template",))  # Refuses a mask naming anything else.
        template, update_time = await handlers.set_class_workout(
            self._unit_of_work(),
            class_session,
            "{}/workoutTemplates/{}".format(
                *template_ids(given.workout_template, "class_workout.workout_template")
            ),
        )
        return pb.ClassWorkout(
            name=given.name,
            workout_template=template.resource_name,
            update_time=timestamp(update_time),
        )

    async def GetClassWorkout(  # noqa: N802
        self, request: pb.GetClassWorkoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClassWorkout:
        class_session = class_workout_session(request.name, "name")
        template, update_time = await handlers.get_class_workout(
            self._unit_of_work(), class_session
        )
        return pb.ClassWorkout(
            name=request.name,
            workout_template=template.resource_name,
            update_time=timestamp(update_time),
        )

    async def GetTrainingSummary(  # noqa: N802
        self, request: pb.GetTrainingSummaryRequest, context: grpc.aio.ServicerContext
    ) -> pb.TrainingSummary:
        member_id = summary_member(request.name, "name")
        first, start, end = summary_week(request, utcnow())
        week, streak = await handlers.training_summary(self._unit_of_work(), member_id, start, end)
        return summary_to_proto(request.name, first, week, streak)

    async def CreateGoal(  # noqa: N802
        self, request: pb.CreateGoalRequest, context: grpc.aio.ServicerContext
    ) -> pb.Goal:
        given = request.goal
        command = CreateGoal(
            member_id=parse_user_name(request.parent, "parent"),
            kind=goal_kind(given),
            exercise=exercise_name(given.exercise, "goal.exercise") if given.exercise else "",
            target=given.target,
        )
        return goal_to_proto(await handlers.create_goal(self._unit_of_work(), command), 0.0)

    async def ListGoals(  # noqa: N802
        self, request: pb.ListGoalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListGoalsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
        fetched = await handlers.list_goals(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        goals, next_page_token = page.cut(fetched)
        return pb.ListGoalsResponse(
            goals=[goal_to_proto(goal, progress) for goal, progress in goals],
            next_page_token=next_page_token,
        )

    async def DeleteGoal(  # noqa: N802
        self, request: pb.DeleteGoalRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        member_id, goal_id = goal_ids(request.name, "name")
        await handlers.delete_goal(self._unit_of_work(), member_id, goal_id)
        return empty_pb2.Empty()

    async def GetDataConsent(  # noqa: N802
        self, request: pb.GetDataConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.DataConsent:
        member_id = consent_member(request.name, "name")
        return consent_to_proto(await handlers.get_consent(self._unit_of_work(), member_id))

    async def UpdateDataConsent(  # noqa: N802
        self, request: pb.UpdateDataConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.DataConsent:
        given = request.data_consent
        member_id = consent_member(given.name, "data_consent.name")
        parts = updated_fields(request, CONSENT_PARTS)
        changes = {part: bool(getattr(given, part)) for part in parts}
        consent = await handlers.update_consent(self._unit_of_work(), member_id, changes)
        return consent_to_proto(consent)

    async def ExportActivityData(  # noqa: N802
        self, request: pb.ExportActivityDataRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        member_id = parse_user_name(request.parent, "parent")
        overview = await handlers.export_overview(self._unit_of_work, member_id)
        sessions = handlers.export_sessions(self._unit_of_work, member_id, EXPORT_PAGE)
        imported = handlers.export_imported(self._unit_of_work, member_id, EXPORT_PAGE)
        health_days = handlers.export_health_days(self._unit_of_work, member_id, EXPORT_PAGE)
        routes = activity_files.export_routes(
            self._unit_of_work, self._files, member_id, EXPORT_ROUTES_PAGE
        )
        document = export_document(
            request.parent, utcnow(), overview, sessions, imported, health_days, routes
        )
        async for part in document:
            yield part

    async def StartActivityDataDeletion(  # noqa: N802
        self, request: pb.StartActivityDataDeletionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ActivityDataDeletion:
        member_id = parse_user_name(request.parent, "parent")
        token, pending, counts = await handlers.start_deletion(self._unit_of_work(), member_id)
        return pb.ActivityDataDeletion(
            confirmation_token=token, expire_time=timestamp(pending.expire_time), **counts
        )

    async def DeleteActivityData(  # noqa: N802
        self, request: pb.DeleteActivityDataRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        member_id = parse_user_name(request.parent, "parent")
        await handlers.delete_member_data(
            self._unit_of_work, self._wiring.providers, member_id, request.confirmation_token
        )
        return empty_pb2.Empty()

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
        return upload_to_proto(outcome)

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

    async def VerifyFitbitSubscriber(  # noqa: N802
        self, request: pb.VerifyFitbitSubscriberRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        fitbit.verify_subscriber(request.verify, self._wiring.fitbit_verification_code)
        return await no_content(context)

    async def ReceiveFitbitNotifications(  # noqa: N802
        self, request: pb.ReceiveFitbitNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        metadata = dict(context.invocation_metadata() or ())
        body = request.payload.data
        signature = str(metadata.get(fitbit.SIGNATURE_HEADER, ""))
        fitbit.verify_signature(body, signature, self._wiring.fitbit_client_secret)
        changes = fitbit.parse_notifications(body, self._wiring.clock())
        await providers.receive_changes(self._unit_of_work(), self._wiring.changes, changes)
        return await no_content(context)

    async def ReceiveGarminPush(  # noqa: N802
        self, request: pb.ReceiveGarminPushRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        metadata = dict(context.invocation_metadata() or ())
        garmin.verify_push(
            str(metadata.get(garmin.CLIENT_ID_HEADER, "")), self._wiring.garmin_client_id
        )
        changes = garmin.parse_push(request.payload.data, self._wiring.clock())
        await providers.receive_changes(self._unit_of_work(), self._wiring.changes, changes)
        return empty_pb2.Empty()

    async def UploadActivityFile(  # noqa: N802
        self, request: pb.UploadActivityFileRequest, context: grpc.aio.ServicerContext
    ) -> pb.UploadActivityFileResponse:
        command = UploadActivityFile(
            member_id=parse_user_name(request.parent, "parent"),
            content_type=request.file.content_type,
            data=request.file.data,
        )
        uploaded = await activity_files.upload_file(
            self._unit_of_work, self._files, command, self._health_policy, self._wiring.clock
        )
        return uploaded_to_proto(uploaded)

    async def GetActivityRoute(  # noqa: N802
        self, request: pb.GetActivityRouteRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        member_id, activity_id = route_ids(request.name, "name")
        gpx = await activity_files.get_route(
            self._unit_of_work(), self._files, member_id, activity_id
        )
        return httpbody_pb2.HttpBody(content_type=GPX, data=gpx)

    async def ListBestEfforts(  # noqa: N802
        self, request: pb.ListBestEffortsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListBestEffortsResponse:
        member_id = parse_user_name(request.parent, "parent")
        efforts = await activity_files.list_best_efforts(self._unit_of_work(), member_id)
        return pb.ListBestEffortsResponse(best_efforts=[best_effort_to_proto(e) for e in efforts])

    async def GetActivityTrends(  # noqa: N802
        self, request: pb.GetActivityTrendsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ActivityTrends:
        command = GetActivityTrends(
            trends_member(request.name, "name"), request.weeks, request.time_zone
        )
        window, found = await trends.activity_trends(self._unit_of_work(), command)
        return trends_to_proto(request.name, window, found)
