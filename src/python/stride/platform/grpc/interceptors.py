"""The server interceptor every Stride service runs.

Per RPC it: picks the caller's language, continues the caller's trace, enforces a deadline,
authenticates the caller as the method's contract asks (a member's access token, a service
credential for internal RPCs, nothing for public ones), reads the request (an unparseable one
is INVALID_ARGUMENT), authorizes it against the contract's audience, then checks its limits —
all before the handler runs. It turns domain errors into rich `google.rpc.Status` responses and
anything unexpected into a generic INTERNAL, then logs and measures the call. Health checks and
reflection pass through untouched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, cast

from google.protobuf import message_factory
from google.protobuf.message import Message
from opentelemetry import trace
from prometheus_client import Histogram

import grpc
from stride.platform.auth import (
    JwtVerifier,
    Principal,
    authenticated_as,
    called_by_service,
)
from stride.platform.db.errors import database_unavailable
from stride.platform.deadlines import deadline_scope
from stride.platform.errors import DomainError, Unauthenticated, Unavailable
from stride.platform.grpc.access_control import authorize
from stride.platform.grpc.contract import Audience, MethodContract
from stride.platform.grpc.request_limits import RequestLimits
from stride.platform.grpc.status import (
    grpc_code,
    simple_status,
    status_code_of,
    to_rpc_status,
    trailing_metadata,
)
from stride.platform.i18n import LOCALE_METADATA_KEY, Locale, locale_scope, negotiate_locale
from stride.platform.observability.metrics import RPC_IN_FLIGHT, RPC_LATENCY
from stride.platform.observability.tracing import extract_context
from stride.platform.service_credentials import ServiceTokenVerifier

_log = logging.getLogger("stride.rpc")
_tracer = trace.get_tracer("stride.platform.grpc")
_PASS_THROUGH_PREFIXES = ("/grpc.health.", "/grpc.reflection.")
_EDGE_TIMEOUT_HEADER = "x-envoy-expected-rq-timeout-ms"

UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
StreamBehavior = Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]


class StrideServerInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        service: str,
        contracts: Mapping[str, MethodContract],
        verifier: JwtVerifier | None,
        service_verifier: ServiceTokenVerifier | None,
        max_rpc_seconds: float,
        max_stream_seconds: float,
    ) -> None:
        self._service = service
        self._contracts = contracts
        self._limits = {
            path: RequestLimits(message_factory.GetMessageClass(contract.descriptor.input_type))
            for path, contract in contracts.items()
        }
        self._verifier = verifier
        self._service_verifier = service_verifier
        self._max_rpc_seconds = max_rpc_seconds
        self._max_stream_seconds = max_stream_seconds
        # Built once per method, not per call: grpc asks for a method's handler on every RPC.
        self._handlers: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler | None]] = {}
        # Labelled metric children, looked up once: `labels()` takes a lock and hashes every
        # label on each call.
        self.in_flight = RPC_IN_FLIGHT.labels(service)
        self._latencies: dict[tuple[str, grpc.StatusCode], Histogram] = {}

    def latency(self, method: str, code: grpc.StatusCode) -> Histogram:
        """The latency histogram of `method`'s calls that ended with `code`."""
        histogram = self._latencies.get((method, code))
        if histogram is None:
            histogram = RPC_LATENCY.labels(self._service, method, code.name)
            self._latencies[(method, code)] = histogram
        return histogram

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:  # An unknown method: grpc answers UNIMPLEMENTED itself.
            return handler  # type: ignore[return-value]
        method: str = details.method
        if method.startswith(_PASS_THROUGH_PREFIXES):
            return handler
        cached = self._handlers.get(method)
        if cached is None or cached[0] is not handler:
            cached = self._handlers[method] = (handler, self._wrap(method, handler))
        return cached[1]  # type: ignore[return-value]

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler | None:
        if method not in self._contracts:  # A servicer the app did not register: refuse.
            return None
        # The request arrives as bytes: `_Call.admit` parses it, so a malformed one is the
        # client's INVALID_ARGUMENT rather than gRPC's UNKNOWN.
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, cast(UnaryBehavior, handler.unary_unary)),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._unary_stream(method, cast(StreamBehavior, handler.unary_stream)),
                response_serializer=handler.response_serializer,
            )
        # Client-streaming RPCs: none yet; refused until their messages are read here too.
        return None

    def _unary(self, method: str, behavior: UnaryBehavior) -> UnaryBehavior:
        async def wrapped(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            call = _Call(self, method, context)
            async with call:
                request = await call.admit(raw)
                # `asyncio.timeout`, not `wait_for`: the handler runs in this task rather than
                # in one more task per call (Python 3.11's `wait_for` makes one).
                with deadline_scope(call.deadline):
                    async with asyncio.timeout_at(call.deadline):
                        return await behavior(request, context)

        return wrapped

    def _unary_stream(self, method: str, behavior: StreamBehavior) -> StreamBehavior:
        async def wrapped(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = _Call(self, method, context)
            async with call:
                request = await call.admit(raw)
                async with asyncio.timeout(call.stream_budget):
                    async for response in behavior(request, context):
                        yield response

        return wrapped


class _Call:
    """One RPC's cross-cutting work, as an async context manager around the handler."""

    def __init__(
        self, interceptor: StrideServerInterceptor, method: str, context: grpc.aio.ServicerContext
    ) -> None:
        self._interceptor, self._method, self._context = interceptor, method, context
        self._metadata: Mapping[str, str] = {
            key: value
            for key, value in (context.invocation_metadata() or ())
            if isinstance(value, str)
        }
        # Read now: asking a cancelled call for its peer later crashes grpc's C core.
        self._peer = context.peer()
        self.locale: Locale = negotiate_locale(
            self._metadata.get(LOCALE_METADATA_KEY) or self._metadata.get("accept-language")
        )
        self.budget = interceptor._max_rpc_seconds
        self.stream_budget = interceptor._max_stream_seconds
        self._code = grpc.StatusCode.OK
        self._contract = interceptor._contracts[method]
        self._principal: Principal | None = None
        self._caller_service: str | None = None
        self._exits: list[Any] = []

    async def __aenter__(self) -> None:
        self._started = time.perf_counter()
        self._interceptor.in_flight.inc()
        span = _tracer.start_as_current_span(
            self._method,
            context=extract_context(self._metadata),
            kind=trace.SpanKind.SERVER,
        )
        self._exits = [span, locale_scope(self.locale)]
        for scope in self._exits:
            scope.__enter__()
        try:
            remaining = self._context.time_remaining()
            if remaining is not None:
                if remaining <= 0:
                    raise TimeoutError
                self.budget = min(self.budget, remaining)
                self.stream_budget = min(self.stream_budget, remaining)
            # Envoy's route timeout, which it tells upstreams in this header rather than in
            # grpc-timeout: past it Envoy has answered 504, so nothing is worth committing.
            edge_ms = self._metadata.get(_EDGE_TIMEOUT_HEADER, "")
            if edge_ms.isdigit():
                self.budget = min(self.budget, int(edge_ms) / 1000)
            # Fixed now: authenticating (a JWKS fetch) spends the caller's time too.
            self.deadline = asyncio.get_running_loop().time() + self.budget
            await self._authenticate()
        except BaseException as error:
            await self.__aexit__(type(error), error, error.__traceback__)
            raise
        for scope in (authenticated_as(self._principal), called_by_service(self._caller_service)):
            scope.__enter__()
            self._exits.append(scope)

    async def admit(self, raw: bytes) -> Message:
        """The request, once it parses, the caller may make it, and it is within its limits —
        in that order (AIP-211: authorization before validation)."""
        limits = self._interceptor._limits[self._method]
        request = limits.parse(raw)
        authorize(self._contract.access, request, self._principal)
        limits.check(request)
        return request

    async def __aexit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        try:
            if error is not None and not isinstance(error, grpc.aio.AbortError):
                await self._abort_for(error)
        finally:
            self._finish()

    async def _authenticate(self) -> None:
        access = self._contract.access
        if access.audience is Audience.PUBLIC:
            return
        scheme, _, token = self._metadata.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("TOKEN_MISSING")
        if access.audience is Audience.INTERNAL:
            if self._interceptor._service_verifier is None:
                raise Unauthenticated("SERVICE_TOKEN_INVALID")  # No trusted keys: fail closed.
            self._caller_service = self._interceptor._service_verifier.verify(token, access.callers)
            return
        if self._interceptor._verifier is None:
            raise Unauthenticated("TOKEN_INVALID")  # No key source configured: fail closed.
        self._principal = await self._interceptor._verifier.verify(token)

    async def _abort_for(self, error: BaseException) -> None:
        if isinstance(error, DomainError):
            status = to_rpc_status(error, self.locale)
            self._code = grpc_code(error)
        elif isinstance(error, TimeoutError):
            status = simple_status(
                grpc.StatusCode.DEADLINE_EXCEEDED, "error.deadline_exceeded", self.locale
            )
            self._code = grpc.StatusCode.DEADLINE_EXCEEDED
        elif database_unavailable(error):
            # Down, restarting or failing over: the client retries (with its request id).
            # The class only: a driver's message may quote the statement and its parameters.
            _log.warning("database unavailable in %s: %s", self._method, type(error).__name__)
            status = to_rpc_status(Unavailable("DATABASE_UNAVAILABLE"), self.locale)
            self._code = grpc.StatusCode.UNAVAILABLE
        elif isinstance(error, asyncio.CancelledError | GeneratorExit):
            # The client went away (GeneratorExit: a stream closed mid-flight): nobody to answer.
            self._code = grpc.StatusCode.CANCELLED
            return
        else:
            _log.error("unhandled error in %s", self._method, exc_info=error)
            status = simple_status(grpc.StatusCode.INTERNAL, "error.internal", self.locale)
            self._code = grpc.StatusCode.INTERNAL
        await self._context.abort(
            status_code_of(status), status.message, trailing_metadata=trailing_metadata(status)
        )

    def _finish(self) -> None:
        elapsed = time.perf_counter() - self._started
        self._interceptor.in_flight.dec()
        self._interceptor.latency(self._method, self._code).observe(elapsed)
        _log.info(
            "rpc",
            extra={
                "rpc_method": self._method,
                "rpc_code": self._code.name,
                "duration_ms": round(elapsed * 1000, 2),
                "peer": self._peer,
                "principal": self._principal.user_id if self._principal else None,
                "caller_service": self._caller_service,
            },
        )
        for scope in reversed(self._exits):
            scope.__exit__(None, None, None)
        self._exits = []
