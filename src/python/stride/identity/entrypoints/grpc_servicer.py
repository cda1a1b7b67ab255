"""IdentityService over gRPC: proto → command → use case → proto."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from google.protobuf import timestamp_pb2

from stride.identity import messages  # noqa: F401 - registers Identity's texts.
from stride.identity.domain.model import DEFAULT_TIME_ZONE, User
from stride.identity.entrypoints.resource_names import parse_user_name
from stride.identity.service_layer import handlers
from stride.identity.service_layer.commands import GetUser, SignUp
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.identity.v1 import identity_service_pb2 as pb
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc
from stride.platform.i18n import current_locale
from stride.platform.idempotency import idempotent

SIGN_UP_METHOD = "/stride.identity.v1.IdentityService/SignUp"


def user_to_proto(user: User) -> pb.User:
    created = timestamp_pb2.Timestamp()
    created.FromDatetime(user.created_at)
    return pb.User(
        name=user.resource_name,
        email=user.email,
        display_name=user.display_name,
        language_code=user.language_code,
        time_zone=user.time_zone,
        email_verified=user.email_verified,
        create_time=created,
    )


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(self, unit_of_work: Callable[[], IdentityUnitOfWork]) -> None:
        self._unit_of_work = unit_of_work

    async def SignUp(  # noqa: N802 - generated gRPC method name.
        self, request: pb.SignUpRequest, context: grpc.aio.ServicerContext
    ) -> pb.SignUpResponse:
        command = SignUp(
            email=request.email,
            password=request.password,
            display_name=request.display_name,
            language_code=request.language_code or current_locale(),
            time_zone=request.time_zone or DEFAULT_TIME_ZONE,
        )
        uow = self._unit_of_work()

        async def sign_up() -> pb.SignUpResponse:
            user = await handlers.sign_up(command, uow)
            return pb.SignUpResponse(user=user_to_proto(user))

        return await idempotent(
            uow, SIGN_UP_METHOD, request, request.request_id, sign_up, pb.SignUpResponse
        )

    async def GetUser(  # noqa: N802 - generated gRPC method name.
        self, request: pb.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.User:
        query = GetUser(user_id=parse_user_name(request.name))
        return user_to_proto(await handlers.get_user(query, self._unit_of_work()))
