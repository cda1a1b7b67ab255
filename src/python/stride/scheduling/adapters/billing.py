"""Entitlements held and released with Billing over gRPC: internal RPCs that Scheduling calls
as itself, with its service credential, for the member booking."""

from __future__ import annotations

import grpc
from google.protobuf import timestamp_pb2

from stride.billing.v1 import billing_service_pb2 as pb
from stride.billing.v1 import billing_service_pb2_grpc as pb_grpc
from stride.platform.errors import FailedPrecondition, Unavailable
from stride.platform.grpc.internal_client import InternalClient
from stride.platform.grpc.status import error_reason
from stride.platform.service_credentials import ServiceCredentials
from stride.scheduling.domain.model import Booking


class BillingEntitlements(InternalClient):
    def __init__(self, target: str, credentials: ServiceCredentials) -> None:
        super().__init__(
            target,
            credentials,
            audience="billing",
            stub=pb_grpc.BillingServiceStub,
            timeout_seconds=5.0,
        )

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
            await self.call("HoldCredit", request)
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error) from error

    async def release(self, booking: Booking) -> None:
        name = f"users/{booking.member_id}/holds/{booking.id}"
        try:
            await self.call("ReleaseHold", pb.ReleaseHoldRequest(name=name))
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise _domain_error(error) from error


def _domain_error(error: grpc.aio.AioRpcError) -> Exception:
    """Billing's refusal in Scheduling's terms; anything else means Billing is unreachable."""
    refused = error.code() == grpc.StatusCode.FAILED_PRECONDITION
    if refused and error_reason(error) == "NO_ENTITLEMENT":
        return FailedPrecondition("NO_ENTITLEMENT", "entitlement.none")
    return Unavailable("BILLING_UNAVAILABLE")
