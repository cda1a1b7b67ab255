"""Calling another service's internal RPCs (ADR 0010): one channel to the callee, every call
made as this service — its service credential for the callee's audience — and under a
deadline, so a callee that hangs costs the caller a bounded wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

import grpc
from stride.platform.service_credentials import ServiceCredentials


class InternalClient:
    """A client of one service, started and stopped with the calling service."""

    def __init__(
        self,
        target: str,
        credentials: ServiceCredentials,
        *,
        audience: str,
        stub: Callable[[grpc.aio.Channel], Any],
        timeout_seconds: float,
    ) -> None:
        self._target, self._credentials, self._audience = target, credentials, audience
        self._new_stub, self._timeout = stub, timeout_seconds
        # Typed Any: the generated stubs' types describe the synchronous API only.
        self._stub: Any = None
        self._channel: grpc.aio.Channel | None = None

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(self._target)
        self._stub = self._new_stub(self._channel)

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.close(grace=None)

    async def call(self, method: str, request: Message, within_seconds: float | None = None) -> Any:
        """The callee's `method` (its name in the service) with `request`, as this service,
        within `within_seconds` (the client's own timeout by default); a failure raises
        `grpc.aio.AioRpcError` for the caller to put in its own terms."""
        if self._stub is None:
            raise RuntimeError(f"{type(self).__name__}.start() was not run")
        rpc = getattr(self._stub, method)
        return await rpc(
            request,
            metadata=self._credentials.metadata(self._audience),
            timeout=self._timeout if within_seconds is None else within_seconds,
        )
