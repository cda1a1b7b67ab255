"""Entitlements held and released with Billing over gRPC: internal RPCs that Scheduling calls
as itself, with its service credential, for the member booking."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from stride.billing.v1 import billing_service_pb2 as pb
from stride.billing.v1 import billing_service_pb2_grpc as pb_grpc
from stride.platform.errors import FailedPrecondition, Unavailable
from stride.platform.grpc.status import rich_status, unpack_details
from stride.platform.service_credentials import ServiceCredentials
from stride.scheduling.domain.model import Booking

_TIMEOUT_SECONDS = 5.0
AUDIENCE = "billing"


class BillingEntitlements:
    def __init__(self, target: str, credentials: ServiceCredentials) -> None:
        self._target = target
        self._credentials = credentials
        self._channel: grpc.aio.Channel | None = None

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(self._target)

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.close(grace=None)

    def _stub(self) -> Any:
        """Typed Any: the generated stub's types describe the synchronous API only."""
        if self._channel is None:
            raise RuntimeError("BillingEntitlements.start() was not run")
        return pb_grpc.BillingServiceStub(self._channel)

    async def hold(self, booking: Booking) -> None:
        start = timestamp_pb2.Timestamp()
        start.FromDatetime(booking.class_start)
        request = pb.HoldCreditRequest(
            parent=f"users/{booking.member_id}",
            hold=pb.Hold(
                booking=booking.resource_name,
                studio=f"studios/{booking.studio}",
                class_start_time=start,
            ),
        )
        try:
            await self._stub().HoldCredit(
                request, metadata=self._credentials.metadata(AUDIENCE), timeout=_TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error) from error

    async def release(self, booking: Booking) -> None:
        name = f"users/{booking.member_id}/holds/{booking.id}"
        try:
            await self._stub().ReleaseHold(
                pb.ReleaseHoldRequest(name=name),
                metadata=self._credentials.metadata(AUDIENCE),
                timeout=_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise _domain_error(error) from error


def _domain_error(error: grpc.aio.AioRpcError) -> Exception:
    """Billing's refusal in Scheduling's terms; anything else means Billing is unreachable."""
    status = rich_status(error)
    reason = ""
    if status is not None:
        info = unpack_details(status).get("ErrorInfo")
        reason = getattr(info, "reason", "")
    if error.code() == grpc.StatusCode.FAILED_PRECONDITION and reason == "NO_ENTITLEMENT":
        return FailedPrecondition("NO_ENTITLEMENT", "entitlement.none")
    return Unavailable("BILLING_UNAVAILABLE")
