"""Domain errors ⇄ `google.rpc.Status` with ErrorInfo, BadRequest and LocalizedMessage details.

The status travels as the `grpc-status-details-bin` trailer (the gRPC rich error model); Envoy's
transcoder turns it into the JSON error body mobile clients read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

import grpc
from stride.platform import errors
from stride.platform.i18n import CATALOG, Locale

ERROR_DOMAIN = "stride.app"
STATUS_DETAILS_KEY = "grpc-status-details-bin"

_CODES: dict[type[errors.DomainError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def grpc_code(error: errors.DomainError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in _CODES:
            return _CODES[kind]
    return grpc.StatusCode.INTERNAL


def _packed(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_rpc_status(error: errors.DomainError, locale: Locale) -> status_pb2.Status:
    message = CATALOG.translate(error.message_key, locale, error.params)
    details = [
        _packed(
            error_details_pb2.ErrorInfo(
                reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
            )
        ),
        _packed(error_details_pb2.LocalizedMessage(locale=locale, message=message)),
    ]
    if isinstance(error, errors.InvalidArgument):
        details.append(
            _packed(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=violation.field,
                            description=CATALOG.translate(
                                violation.message_key, locale, violation.params
                            ),
                            reason=violation.message_key,
                        )
                        for violation in error.violations
                    ]
                )
            )
        )
    if isinstance(error, errors.ResourceExhausted) and error.retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromTimedelta(timedelta(seconds=math.ceil(error.retry_after_seconds)))
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    return status_pb2.Status(code=grpc_code(error).value[0], message=message, details=details)


def simple_status(code: grpc.StatusCode, message_key: str, locale: Locale) -> status_pb2.Status:
    """A status for failures that are not domain errors (internal errors, expired deadlines)."""
    message = CATALOG.translate(message_key, locale)
    return status_pb2.Status(
        code=code.value[0],
        message=message,
        details=[_packed(error_details_pb2.LocalizedMessage(locale=locale, message=message))],
    )


def trailing_metadata(status: status_pb2.Status) -> tuple[tuple[str, bytes], ...]:
    return ((STATUS_DETAILS_KEY, status.SerializeToString()),)


def status_code_of(status: status_pb2.Status) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == status.code:
            return code
    return grpc.StatusCode.UNKNOWN


def rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    """The `google.rpc.Status` a server attached to a failed call, if any."""
    metadata = cast(Iterable[tuple[str, str | bytes]], error.trailing_metadata() or ())
    for key, value in metadata:
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return None


def error_reason(error: grpc.aio.AioRpcError) -> str:
    """The reason of the ErrorInfo a server attached to a failed call; empty if none."""
    status = rich_status(error)
    info = unpack_details(status).get("ErrorInfo") if status is not None else None
    return str(getattr(info, "reason", ""))


def unpack_details(status: status_pb2.Status) -> dict[str, object]:
    """Details keyed by type name (`ErrorInfo`, `BadRequest`, …) — for tests and callers."""
    kinds = (
        error_details_pb2.ErrorInfo,
        error_details_pb2.BadRequest,
        error_details_pb2.LocalizedMessage,
        error_details_pb2.RetryInfo,
    )
    found: dict[str, object] = {}
    for detail in status.details:
        for kind in kinds:
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[kind.DESCRIPTOR.name] = message
    return found
