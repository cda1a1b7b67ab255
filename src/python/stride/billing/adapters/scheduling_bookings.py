"""Scheduling's bookings as Billing's reconciler asks about them: its internal FindBookings RPC,
called as Billing, with Billing's service credential."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from stride.platform.errors import Unavailable
from stride.platform.service_credentials import ServiceCredentials
from stride.scheduling.v1 import scheduling_service_pb2 as pb
from stride.scheduling.v1 import scheduling_service_pb2_grpc as pb_grpc

AUDIENCE = "scheduling"
_TIMEOUT_SECONDS = 10.0


class SchedulingBookings:
    def __init__(self, target: str, credentials: ServiceCredentials) -> None:
        self._target, self._credentials = target, credentials
        self._channel: grpc.aio.Channel | None = None

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(self._target)

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.close(grace=None)

    def _stub(self) -> Any:
        """Typed Any: the generated stub's types describe the synchronous API only."""
        if self._channel is None:
            raise RuntimeError("SchedulingBookings.start() was not run")
        return pb_grpc.SchedulingServiceStub(self._channel)

    async def existing(self, names: Sequence[str]) -> set[str]:
        try:
            found = await self._stub().FindBookings(
                pb.FindBookingsRequest(names=list(names)),
                metadata=self._credentials.metadata(AUDIENCE),
                timeout=_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            raise Unavailable("SCHEDULING_UNAVAILABLE") from error
        return {booking.name for booking in found.bookings}
