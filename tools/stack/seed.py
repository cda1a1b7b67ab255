"""Demo data, created through the real APIs; re-running finds what is already there."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

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
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        return {
            email: stub.SignIn(
                pb.SignInRequest(email=email, password=DEMO_PASSWORD), timeout=10
            ).user.name
            for email, _, _, _ in DEMO_USERS
        }


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


def _admin_metadata(stub: pb_grpc.IdentityServiceStub) -> tuple[tuple[str, str | bytes], ...]:
    email = next(email for email, _, _, grant in DEMO_USERS if grant == ("admin", ""))
    signed_in = stub.SignIn(pb.SignInRequest(email=email, password=DEMO_PASSWORD), timeout=10)
    return (("authorization", f"Bearer {signed_in.credentials.access_token}"),)


def seed_demo_schedule(target: str, now: datetime) -> int:
    """The demo studio with a room, two class types, a week of classes at 07:00 and 18:00
    studio time, plans to buy, and class credits for the demo accounts; returns how many
    classes were created (none while upcoming ones exist)."""
    with grpc.insecure_channel(target) as channel:
        auth = _admin_metadata(pb_grpc.IdentityServiceStub(channel))
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
        _grant_demo_credits(channel, auth)
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


def _grant_demo_credits(channel: grpc.Channel, auth: tuple[tuple[str, str | bytes], ...]) -> None:
    """Every demo account without entitlements gets a 20-class pack for the demo studio."""
    identity = pb_grpc.IdentityServiceStub(channel)
    billing = billing_grpc.BillingServiceStub(channel)
    expires = Timestamp()
    expires.FromDatetime(datetime.now(UTC) + timedelta(days=365))
    for email, _, _, _ in DEMO_USERS:
        signed_in = identity.SignIn(
            pb.SignInRequest(email=email, password=DEMO_PASSWORD), timeout=10
        )
        member = signed_in.user.name
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
