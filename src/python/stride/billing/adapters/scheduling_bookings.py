"""Scheduling's bookings as Billing's reconciler asks about them: its internal FindBookings RPC,
called as Billing, with Billing's service credential."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from stride.platform.errors import Unavailable
from stride.platform.grpc.internal_client import InternalClient
from stride.platform.service_credentials import ServiceCredentials
from stride.scheduling.v1 import scheduling_service_pb2 as pb
from stride.scheduling.v1 import scheduling_service_pb2_grpc as pb_grpc


class SchedulingBookings(InternalClient):
    def __init__(self, target: str, credentials: ServiceCredentials) -> None:
        super().__init__(
            target,
            credentials,
            audience="scheduling",
            stub=pb_grpc.SchedulingServiceStub,
            timeout_seconds=10.0,
        )

    async def existing(self, names: Sequence[str]) -> set[str]:
        try:
            found = await self.call("FindBookings", pb.FindBookingsRequest(names=list(names)))
        except grpc.aio.AioRpcError as error:
            raise Unavailable("SCHEDULING_UNAVAILABLE") from error
        return {booking.name for booking in found.bookings}
