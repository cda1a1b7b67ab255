"""Errors that use cases raise; the gRPC layer turns them into `google.rpc.Status` responses.

They carry no transport types so domain and service-layer code stays free of gRPC: each class
names its kind (mapped to a gRPC code in `stride.platform.grpc.status`), a machine-readable
`reason` for `google.rpc.ErrorInfo`, and an i18n `message_key` rendered in the caller's language.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence


@dataclasses.dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request, reported in `google.rpc.BadRequest`."""

    field: str  # Proto field path in lowerCamel JSON or snake_case, e.g. "email".
    message_key: str  # i18n key, e.g. "field.required".
    params: Mapping[str, object] = dataclasses.field(default_factory=dict)


class DomainError(Exception):
    """Base of every expected failure. Subclasses fix the kind; instances say why."""

    default_reason = "ERROR"
    default_message_key = "error.internal"

    def __init__(
        self,
        reason: str | None = None,
        message_key: str | None = None,
        *,
        params: Mapping[str, object] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.reason = reason or self.default_reason
        self.message_key = message_key or self.default_message_key
        self.params = dict(params or {})
        self.metadata = dict(metadata or {})
        super().__init__(f"{self.reason}: {self.message_key}")


class InvalidArgument(DomainError):
    default_reason = "INVALID_ARGUMENT"
    default_message_key = "error.invalid_argument"

    def __init__(
        self,
        violations: Sequence[FieldViolation],
        reason: str | None = None,
        message_key: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(reason, message_key, **kwargs)  # type: ignore[arg-type]
        self.violations = tuple(violations)


class NotFound(DomainError):
    default_reason = "NOT_FOUND"
    default_message_key = "error.not_found"


class AlreadyExists(DomainError):
    default_reason = "ALREADY_EXISTS"
    default_message_key = "error.already_exists"


class FailedPrecondition(DomainError):
    default_reason = "FAILED_PRECONDITION"
    default_message_key = "error.failed_precondition"


class Aborted(DomainError):
    """A concurrent change won; the client may retry the whole operation."""

    default_reason = "ABORTED"
    default_message_key = "error.aborted"


class PermissionDenied(DomainError):
    default_reason = "PERMISSION_DENIED"
    default_message_key = "error.permission_denied"


class Unauthenticated(DomainError):
    default_reason = "UNAUTHENTICATED"
    default_message_key = "error.unauthenticated"


class ResourceExhausted(DomainError):
    """Too many attempts; `retry_after_seconds` becomes `google.rpc.RetryInfo`."""

    default_reason = "RESOURCE_EXHAUSTED"
    default_message_key = "error.resource_exhausted"

    def __init__(
        self,
        reason: str | None = None,
        message_key: str | None = None,
        *,
        retry_after_seconds: float | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(reason, message_key, **kwargs)  # type: ignore[arg-type]
        self.retry_after_seconds = retry_after_seconds


class Unavailable(DomainError):
    """A dependency is down; the client may retry with backoff."""

    default_reason = "UNAVAILABLE"
    default_message_key = "error.unavailable"
