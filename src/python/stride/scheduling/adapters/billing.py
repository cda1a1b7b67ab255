"""Entitlements held and released with Billing over gRPC: internal RPCs that Scheduling calls
as itself, with its service credential, for the member booking.

Holds are asked for in batches (`stride.platform.batching`): the bookings that arrive while a
batch is with Billing go together in the next `BatchHoldCredits`, so a rush costs Billing a
few calls and transactions instead of one each. Members are spread over a few lanes, each with
its own batch in flight, so Billing works on several at once and never on one member twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import timestamp_pb2
from google.rpc import status_pb2

from stride.billing.v1 import billing_service_pb2 as pb
from stride.billing.v1 import billing_service_pb2_grpc as pb_grpc
from stride.platform.batching import Batcher, Submitted
from stride.platform.errors import DomainError, FailedPrecondition, Unavailable
from stride.platform.grpc.internal_client import InternalClient
from stride.platform.grpc.status import error_reason, status_code_of, unpack_details
from stride.platform.service_credentials import ServiceCredentials
from stride.scheduling.domain.model import Booking

HOLD_LANES = 4


class BillingEntitlements(InternalClient):
    def __init__(self, target: str, credentials: ServiceCredentials) -> None:
        super().__init__(
            target,
            credentials,
            audience="billing",
            stub=pb_grpc.BillingServiceStub,
            timeout_seconds=5.0,
        )
        self._holds: Batcher[int, pb.HoldCreditRequest, None] = Batcher(self._hold_batch)

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
        await self._holds.submit(booking.member_id.int % HOLD_LANES, request)

    async def _hold_batch(
        self, lane: int, batch: Sequence[Submitted[pb.HoldCreditRequest, None]]
    ) -> list[None | BaseException]:
        asked = pb.BatchHoldCreditsRequest(requests=[submitted.item for submitted in batch])
        try:
            answer = await self.call("BatchHoldCredits", asked)
        except grpc.aio.AioRpcError as error:
            raise _domain_error(error.code(), error_reason(error)) from error
        return [
            None if result.HasField("hold") else _refusal(result.error) for result in answer.results
        ]

    async def release(self, booking: Booking) -> None:
        name = f"users/{booking.member_id}/holds/{booking.id}"
        try:
            await self.call("ReleaseHold", pb.ReleaseHoldRequest(name=name))
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise _domain_error(error.code(), error_reason(error)) from error


def _refusal(status: status_pb2.Status) -> DomainError:
    info = unpack_details(status).get("ErrorInfo")
    return _domain_error(status_code_of(status), str(getattr(info, "reason", "")))


def _domain_error(code: grpc.StatusCode, reason: str) -> DomainError:
    """Billing's refusal in Scheduling's terms; anything else means Billing is unreachable."""
    if code == grpc.StatusCode.FAILED_PRECONDITION and reason == "NO_ENTITLEMENT":
        return FailedPrecondition("NO_ENTITLEMENT", "entitlement.none")
    return Unavailable("BILLING_UNAVAILABLE")
