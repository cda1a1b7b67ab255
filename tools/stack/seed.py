"""Demo data, created through the real APIs; re-running finds what is already there."""

from __future__ import annotations

import grpc

from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc

DEMO_PASSWORD = "stride-demo-password"  # noqa: S105 - printed for the demo accounts.
DEMO_USERS = (
    ("member@demo.stride.app", "Layla Member", "ar"),
    ("coach@demo.stride.app", "Omar Coach", "en"),
    ("manager@demo.stride.app", "Sara Manager", "en"),
)


def seed_demo_users(target: str) -> dict[str, str]:
    """Signs the demo users up; returns email → resource name."""
    users: dict[str, str] = {}
    with grpc.insecure_channel(target) as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        for email, display_name, language in DEMO_USERS:
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
