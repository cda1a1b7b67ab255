"""Demo data, created through the real APIs; re-running finds what is already there."""

from __future__ import annotations

import argparse

import grpc

from stride.identity.config import IdentitySettings
from stride.identity.entrypoints.admin import run_admin_command
from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc

DEMO_PASSWORD = "stride-demo-password"  # noqa: S105 - printed for the demo accounts.
DEMO_STUDIO = "studios/riyadh-olaya"
# email, display name, language, (role, studio) granted beyond member.
DEMO_USERS = (
    ("member@demo.stride.app", "Layla Member", "ar", None),
    ("coach@demo.stride.app", "Omar Coach", "en", ("instructor", DEMO_STUDIO)),
    ("manager@demo.stride.app", "Sara Manager", "en", ("manager", DEMO_STUDIO)),
    ("admin@demo.stride.app", "Stride Admin", "en", ("admin", "")),
)


def sign_up_demo_users(target: str) -> dict[str, str]:
    """Signs the demo users up through the edge; returns email → resource name."""
    users: dict[str, str] = {}
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
            users[email] = stub.SignUp(request, timeout=10).user.name
    return users


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
