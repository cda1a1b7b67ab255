"""Demo data, created through the real APIs; re-running finds what is already there."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import grpc
from google.protobuf import field_mask_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from stride.activity.v1 import activity_service_pb2 as activity_pb
from stride.activity.v1 import activity_service_pb2_grpc as activity_grpc
from stride.billing.v1 import billing_service_pb2 as billing_pb
from stride.billing.v1 import billing_service_pb2_grpc as billing_grpc
from stride.identity.config import IdentitySettings
from stride.identity.entrypoints.admin import run_admin_command
from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc
from stride.scheduling.v1 import scheduling_service_pb2 as scheduling_pb
from stride.scheduling.v1 import scheduling_service_pb2_grpc as scheduling_grpc

DEMO_PASSWORD = "stride-demo-password"  # noqa: S105 - printed for the demo accounts.
DEMO_STUDIO = "studios/riyadh-olaya"
DEMO_TZ = "Asia/Riyadh"
# email, display name, language, (role, studio) granted beyond member.
DEMO_USERS = (
    ("member@demo.stride.app", "Layla Member", "ar", None),
    ("coach@demo.stride.app", "Omar Coach", "en", ("instructor", DEMO_STUDIO)),
    ("manager@demo.stride.app", "Sara Manager", "en", ("manager", DEMO_STUDIO)),
    ("admin@demo.stride.app", "Stride Admin", "en", ("admin", "")),
)


def seed_demo(target: str, identity: IdentitySettings, now: datetime) -> dict[str, str]:
    """Everything `./pants up` seeds, through the edge at `target` (a re-run adds nothing):
    the demo users, the studio's schedule, plans and credits, the coach's workout and program,
    the member's session and week of heart rate. Returns email → user name of the demo users."""
    sign_up_demo_users(target)
    asyncio.run(confirm_demo_users(identity))
    users = demo_user_names(target)
    seed_demo_schedule(target, now)
    seed_demo_training(target, now)
    seed_demo_heart_rate(target, now)
    return users


def sign_up_demo_users(target: str) -> None:
    """Signs the demo users up through the edge (a sign-up for an address that has an account
    answers like any other, so their names come from signing in: `demo_user_names`)."""
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        for email, display_name, language, _ in DEMO_USERS:
            # A stable request id makes a re-run return the first sign-up's response.
            request = pb.SignUpRequest(
                email=email,
                password=DEMO_PASSWORD,
                display_name=display_name,
                language_code=language,
                request_id=f"demo-seed-{email}",
            )
            stub.SignUp(request, timeout=10)


def demo_user_names(target: str) -> dict[str, str]:
    """Email → resource name of each demo user, once confirmed, as signing in tells them."""
    return {email: signed_in(target, email).user.name for email, _, _, _ in DEMO_USERS}


async def confirm_demo_users(identity: IdentitySettings) -> None:
    """What support staff would do: confirm the demo emails and grant the demo roles."""
    for email, _, _, grant in DEMO_USERS:
        await run_admin_command(identity, argparse.Namespace(command="confirm-email", email=email))
        if grant is not None:
            role, studio = grant
            await run_admin_command(
                identity,
                argparse.Namespace(command="grant-role", email=email, role=role, studio=studio),
            )


def _admin_metadata(target: str) -> tuple[tuple[str, str | bytes], ...]:
    email = next(email for email, _, _, grant in DEMO_USERS if grant == ("admin", ""))
    return _metadata_of(target, email)


# Each demo user signs in once per edge a run: the edge throttles sign-ins per client address,
# and the seeding's requests all come from one. Access tokens last ten minutes, seeding seconds.
_SIGNED_IN: dict[tuple[str, str], pb.SignInResponse] = {}


def signed_in(target: str, email: str) -> pb.SignInResponse:
    """The demo user `email` signed in through the edge at `target`."""
    if (target, email) not in _SIGNED_IN:
        with grpc.insecure_channel(target) as channel:
            _SIGNED_IN[target, email] = pb_grpc.IdentityServiceStub(channel).SignIn(
                pb.SignInRequest(email=email, password=DEMO_PASSWORD), timeout=10
            )
    return _SIGNED_IN[target, email]


def _metadata_of(target: str, email: str) -> tuple[tuple[str, str | bytes], ...]:
    token = signed_in(target, email).credentials.access_token
    return (("authorization", f"Bearer {token}"),)


def _planned(exercise: str, reps: int, weight_kg: float) -> activity_pb.PlannedSet:
    return activity_pb.PlannedSet(
        exercise=f"exercises/{exercise}",
        reps_min=reps,
        reps_max=reps,
        weight_kg=weight_kg,
        reps_in_reserve=2,
        rest_seconds=120,
    )


DEMO_WORKOUT = activity_pb.WorkoutTemplate(
    display_name="Full body strength",
    description="Squat, press and pull, then a finisher.",
    blocks=[
        activity_pb.Block(
            kind=activity_pb.Block.KIND_STRAIGHT_SETS,
            sets=[_planned("barbell-back-squat", 5, 80)] * 3,
        ),
        activity_pb.Block(
            kind=activity_pb.Block.KIND_SUPERSET,
            rounds=3,
            sets=[_planned("barbell-bench-press", 8, 50), _planned("barbell-bent-over-row", 8, 50)],
        ),
        activity_pb.Block(
            kind=activity_pb.Block.KIND_AMRAP,
            time_cap_seconds=300,
            sets=[_planned("kettlebell-swing", 15, 16), _planned("burpee", 10, 0)],
        ),
    ],
)


def _assign_demo_program(
    activity: activity_grpc.ActivityServiceStub,
    template: str,
    member: str,
    coach: tuple[tuple[str, str | bytes], ...],
    member_auth: tuple[tuple[str, str | bytes], ...],
    now: datetime,
) -> None:
    """An eight-week program of the demo workout three days a week (week 4 and 8 lighter),
    with the demo member on it from this week, once."""
    assigned = activity.ListProgramAssignments(
        activity_pb.ListProgramAssignmentsRequest(parent=member), metadata=member_auth, timeout=10
    )
    if assigned.program_assignments:
        return
    program = activity.CreateProgram(
        activity_pb.CreateProgramRequest(
            parent=DEMO_STUDIO,
            program=activity_pb.Program(
                display_name="Eight weeks stronger",
                weeks=8,
                days=[
                    activity_pb.ProgramDay(week=week, day=day, workout_template=template)
                    for week in range(1, 9)
                    for day in (1, 3, 5)
                ],
                deload_weeks=[4, 8],
            ),
        ),
        metadata=coach,
        timeout=10,
    )
    start = now.astimezone(ZoneInfo(DEMO_TZ)).date() - timedelta(days=2)
    activity.AssignProgram(
        activity_pb.AssignProgramRequest(
            program=program.name, member=member, start_date=start.isoformat(), time_zone=DEMO_TZ
        ),
        metadata=coach,
        timeout=10,
    )


def seed_demo_training(target: str, now: datetime) -> None:
    """The coach's workout at the demo studio and a program of it the demo member is on (once),
    and the member's session of it two days ago, logged as the app uploads it (the upload is
    idempotent, so a re-run stores nothing new)."""
    with grpc.insecure_channel(target) as channel:
        activity = activity_grpc.ActivityServiceStub(channel)
        coach = _metadata_of(target, "coach@demo.stride.app")
        listed = activity.ListWorkoutTemplates(
            activity_pb.ListWorkoutTemplatesRequest(parent=DEMO_STUDIO), metadata=coach, timeout=10
        )
        template = next(
            (t for t in listed.workout_templates if t.display_name == DEMO_WORKOUT.display_name),
            None,
        ) or activity.CreateWorkoutTemplate(
            activity_pb.CreateWorkoutTemplateRequest(
                parent=DEMO_STUDIO, workout_template=DEMO_WORKOUT
            ),
            metadata=coach,
            timeout=10,
        )
        member_email = "member@demo.stride.app"
        member = signed_in(target, member_email).user.name
        _assign_demo_program(
            activity, template.name, member, coach, _metadata_of(target, member_email), now
        )
        start = (now - timedelta(days=2)).replace(hour=16, minute=0, second=0, microsecond=0)
        session = activity_pb.WorkoutSession(
            name=f"{member}/workoutSessions/{uuid.uuid5(uuid.NAMESPACE_URL, member + '/demo')}",
            display_name=DEMO_WORKOUT.display_name,
            workout_template=template.name,
            state=activity_pb.WorkoutSession.STATE_COMPLETED,
            version=1,
        )
        session.start_time.FromDatetime(start)
        session.end_time.FromDatetime(start + timedelta(minutes=55))
        planned = [p for block in template.blocks for p in block.sets]
        for position, plan in enumerate(planned):
            logged = session.sets.add(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session.name}/{position}")),
                exercise=plan.exercise,
                position=position,
                reps=plan.reps_max,
                weight_kg=plan.weight_kg,
                reps_in_reserve=2,
                version=1,
            )
            logged.complete_time.FromDatetime(start + timedelta(minutes=3 * (position + 1)))
        activity.UploadWorkoutSession(
            activity_pb.UploadWorkoutSessionRequest(workout_session=session),
            metadata=_metadata_of(target, member_email),
            timeout=10,
        )


# The demo member's watch: Apple Watch readings as HealthKit hands them to the app.
DEMO_WATCH = activity_pb.HealthDevice(
    type=activity_pb.HEALTH_DEVICE_TYPE_WATCH,
    manufacturer="Apple Inc.",
    model="Watch7,1",
    name="Layla's Apple Watch",
)


def demo_heart_rates(now: datetime) -> list[activity_pb.HealthSample]:
    """A week of the demo member's heart rate: a reading every five minutes through the day
    (lower at night) and one a second through a 45-minute workout every other evening. Ids
    and values follow from the time, so a re-run sends the same samples again."""
    start = (now - timedelta(days=7)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 5)
    readings: list[tuple[datetime, float]] = []
    at = start
    while at < now:
        hour = at.astimezone(ZoneInfo(DEMO_TZ)).hour
        resting = 54 if hour < 6 else 68
        readings.append((at, resting + (at.minute * 7 + hour * 3) % 11))
        at += timedelta(minutes=5)
    for day in range(0, 7, 2):
        workout = (start + timedelta(days=day)).replace(hour=15, minute=0)
        for second in range(45 * 60):
            effort = min(second / 300, 1.0)  # Five minutes of warming up.
            wave = (second // 60) % 4 * 8  # Intervals: harder every fourth minute.
            readings.append((workout + timedelta(seconds=second), 95 + effort * (50 + wave)))
    samples = []
    for moment, bpm in sorted(readings):
        if moment >= now:  # This week's last workout may be still to come.
            continue
        sample = activity_pb.HealthSample(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-heart-rate/{moment.isoformat()}")),
            kind=activity_pb.HEALTH_KIND_HEART_RATE,
            value=round(bpm),
            unit="count/min",
        )
        sample.start_time.FromDatetime(moment)
        sample.end_time.FromDatetime(moment)
        samples.append(sample)
    return samples


def seed_demo_heart_rate(target: str, now: datetime) -> int:
    """Uploads the demo member's week of heart rate as their phone would, in batches of the
    contract's size, the last carrying the sync anchor; returns how many samples were new."""
    samples = demo_heart_rates(now)
    batch_size = 4000
    stored = 0
    with grpc.insecure_channel(target) as channel:
        activity = activity_grpc.ActivityServiceStub(channel)
        member_email = "member@demo.stride.app"
        metadata = _metadata_of(target, member_email)
        member = signed_in(target, member_email).user.name
        # The demo member lets Stride keep their heart rate, as the app asks before syncing it.
        activity.UpdateDataConsent(
            activity_pb.UpdateDataConsentRequest(
                data_consent=activity_pb.DataConsent(name=f"{member}/dataConsent", heart_rate=True),
                update_mask=field_mask_pb2.FieldMask(paths=["heart_rate"]),
            ),
            metadata=metadata,
            timeout=10,
        )
        for first in range(0, len(samples), batch_size):
            last = first + batch_size >= len(samples)
            reply = activity.BatchUploadHealthSamples(
                activity_pb.BatchUploadHealthSamplesRequest(
                    parent=member,
                    source="healthkit",
                    device=DEMO_WATCH,
                    samples=samples[first : first + batch_size],
                    sync_anchor=f"demo-anchor-{now.date().isoformat()}" if last else "",
                ),
                metadata=metadata,
                timeout=30,
            )
            stored += reply.accepted_count
    return stored


def seed_demo_schedule(target: str, now: datetime) -> int:
    """The demo studio with a room, two class types, a week of classes at 07:00 and 18:00
    studio time, plans to buy, and class credits for the demo accounts; returns how many
    classes were created (none while upcoming ones exist)."""
    with grpc.insecure_channel(target) as channel:
        auth = _admin_metadata(target)
        scheduling = scheduling_grpc.SchedulingServiceStub(channel)
        try:
            scheduling.CreateStudio(
                scheduling_pb.CreateStudioRequest(
                    studio_id=DEMO_STUDIO.removeprefix("studios/"),
                    studio=scheduling_pb.Studio(display_name="Stride Olaya", time_zone=DEMO_TZ),
                ),
                metadata=auth,
                timeout=10,
            )
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
        _grant_demo_credits(target, channel, auth)
        _create_demo_plans(billing_grpc.BillingServiceStub(channel), auth)
        upcoming = scheduling.ListClassSessions(
            scheduling_pb.ListClassSessionsRequest(parent=DEMO_STUDIO, page_size=1),
            metadata=auth,
            timeout=10,
        )
        if upcoming.class_sessions:
            return 0  # Seeded by an earlier run.
        room = scheduling.CreateRoom(
            scheduling_pb.CreateRoomRequest(
                parent=DEMO_STUDIO, room=scheduling_pb.Room(display_name="Studio A", capacity=20)
            ),
            metadata=auth,
            timeout=10,
        )
        kinds = [
            scheduling.CreateClassType(
                scheduling_pb.CreateClassTypeRequest(
                    parent=DEMO_STUDIO,
                    class_type=scheduling_pb.ClassType(
                        display_name_en=en, display_name_ar=ar, duration_minutes=minutes
                    ),
                ),
                metadata=auth,
                timeout=10,
            )
            for en, ar, minutes in (("Spin", "دراجات", 45), ("Yoga Flow", "يوغا", 60))
        ]
        created = 0
        local_today = now.astimezone(ZoneInfo(DEMO_TZ)).date()
        for day in range(1, 8):
            for hour, kind in ((7, kinds[0]), (18, kinds[1])):
                start = datetime.combine(
                    local_today + timedelta(days=day), time(hour), tzinfo=ZoneInfo(DEMO_TZ)
                )
                stamp = Timestamp()
                stamp.FromDatetime(start)
                scheduling.CreateClassSession(
                    scheduling_pb.CreateClassSessionRequest(
                        parent=DEMO_STUDIO,
                        class_session=scheduling_pb.ClassSession(
                            class_type=kind.name, room=room.name, start_time=stamp
                        ),
                    ),
                    metadata=auth,
                    timeout=10,
                )
                created += 1
    return created


def _grant_demo_credits(
    target: str, channel: grpc.Channel, auth: tuple[tuple[str, str | bytes], ...]
) -> None:
    """Every demo account without entitlements gets a 20-class pack for the demo studio."""
    billing = billing_grpc.BillingServiceStub(channel)
    expires = Timestamp()
    expires.FromDatetime(datetime.now(UTC) + timedelta(days=365))
    for email, _, _, _ in DEMO_USERS:
        member = signed_in(target, email).user.name
        held = billing.ListEntitlements(
            billing_pb.ListEntitlementsRequest(parent=member), metadata=auth, timeout=10
        )
        if held.entitlements:
            continue
        billing.GrantEntitlement(
            billing_pb.GrantEntitlementRequest(
                parent=member,
                entitlement=billing_pb.Entitlement(
                    kind=billing_pb.Entitlement.KIND_CLASS_PACK,
                    studio=DEMO_STUDIO,
                    credits_total=20,
                    expire_time=expires,
                ),
            ),
            metadata=auth,
            timeout=10,
        )


DEMO_PLANS = (
    billing_pb.Plan(
        display_name_en="10 classes",
        display_name_ar="10 حصص",
        kind=billing_pb.Plan.KIND_CLASS_PACK,
        price=billing_pb.Money(currency_code="SAR", amount_minor=45_000),
        vat_rate_basis_points=1500,
        credits=10,
        valid_days=60,
    ),
    billing_pb.Plan(
        display_name_en="Unlimited monthly",
        display_name_ar="شهري غير محدود",
        kind=billing_pb.Plan.KIND_MONTHLY_MEMBERSHIP,
        price=billing_pb.Money(currency_code="SAR", amount_minor=69_900),
        vat_rate_basis_points=1500,
    ),
    billing_pb.Plan(
        display_name_en="Monthly, first week free",
        display_name_ar="شهري، الأسبوع الأول مجانًا",
        kind=billing_pb.Plan.KIND_MONTHLY_MEMBERSHIP,
        price=billing_pb.Money(currency_code="SAR", amount_minor=59_900),
        vat_rate_basis_points=1500,
        trial_days=7,
        commitment_periods=3,
    ),
)


def _create_demo_plans(
    billing: billing_grpc.BillingServiceStub, auth: tuple[tuple[str, str | bytes], ...]
) -> None:
    """The demo studio's plans, once."""
    listed = billing.ListPlans(
        billing_pb.ListPlansRequest(parent=DEMO_STUDIO), metadata=auth, timeout=10
    )
    if listed.plans:
        return
    for plan in DEMO_PLANS:
        billing.CreatePlan(
            billing_pb.CreatePlanRequest(parent=DEMO_STUDIO, plan=plan), metadata=auth, timeout=10
        )
