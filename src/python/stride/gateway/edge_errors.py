"""Replies Envoy writes itself (missing token, rate limit, too large, no route, upstream down,
untranscodable request) get the same JSON error body the services send — a `google.rpc.Status`
with ErrorInfo and a LocalizedMessage in the caller's language — instead of Envoy's plain text.
gRPC callers keep Envoy's gRPC status; replies the request-schema filter wrote are left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stride.gateway.request_schema import HANDLED_HEADER
from stride.platform.grpc.status import ERROR_DOMAIN
from stride.platform.i18n import CATALOG, DEFAULT_LOCALE, LOCALE_METADATA_KEY, SUPPORTED_LOCALES

PROTOCOL_HEADER = "x-stride-protocol"  # rest | grpc as the client sent it (envoy_config sets it).


@dataclass(frozen=True)
class EdgeError:
    code: int  # google.rpc.Code
    reason: str  # ErrorInfo reason
    message_key: str
    reply_status: int | None = None  # Rewrites Envoy's HTTP status.
    bad_field: str | None = None  # Reported as a BadRequest field violation.


# HTTP status of Envoy's own reply → the error the client sees.
EDGE_ERRORS: dict[int, EdgeError] = {
    400: EdgeError(3, "MALFORMED_REQUEST", "request.malformed"),
    401: EdgeError(16, "UNAUTHENTICATED", "error.unauthenticated"),
    403: EdgeError(7, "PERMISSION_DENIED", "error.permission_denied"),
    404: EdgeError(5, "NOT_FOUND", "error.not_found"),
    # Bad input like any other: 400 with a field violation (on the body), as the app expects.
    413: EdgeError(3, "REQUEST_TOO_LARGE", "request.too_large", reply_status=400, bad_field="body"),
    429: EdgeError(8, "RATE_LIMITED", "error.resource_exhausted"),
    503: EdgeError(14, "UNAVAILABLE", "error.unavailable"),
}


def error_body(status: int, locale: str) -> str:
    error = EDGE_ERRORS[status]
    message = CATALOG.translate(error.message_key, locale)  # type: ignore[arg-type]
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": error.reason,
            "domain": ERROR_DOMAIN,
        },
        {
            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
            "locale": locale,
            "message": message,
        },
    ]
    if error.bad_field is not None:
        violation = {"field": error.bad_field, "reason": error.message_key, "description": message}
        details.append(
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]}
        )
    body = {"code": error.code, "message": message, "details": details}
    text = json.dumps(body, ensure_ascii=False)
    if "%" in text:
        raise ValueError(f"{error.message_key}: '%' would be read as an Envoy format operator")
    return text


def _status_is(status: int) -> dict[str, Any]:
    return {
        "status_code_filter": {
            "comparison": {
                "op": "EQ",
                "value": {"default_value": status, "runtime_key": f"edge_reply_{status}"},
            }
        }
    }


def _header(name: str, *, exact: str) -> dict[str, Any]:
    return {"header_filter": {"header": {"name": name, "string_match": {"exact": exact}}}}


def _absent(name: str) -> dict[str, Any]:
    return {"header_filter": {"header": {"name": name, "present_match": False}}}


def _from_rest_client() -> dict[str, Any]:
    """Set by the edge's first filter from the original content-type (the transcoder rewrites
    it to application/grpc, so the content-type itself can't tell)."""
    return _header(PROTOCOL_HEADER, exact="rest")


def local_reply_config() -> dict[str, Any]:
    mappers = []
    for status, error in EDGE_ERRORS.items():
        # Specific locales first; the default locale's mapper catches the rest.
        for locale in sorted(SUPPORTED_LOCALES, key=lambda loc: loc == DEFAULT_LOCALE):
            filters = [_status_is(status), _from_rest_client(), _absent(HANDLED_HEADER)]
            if locale != DEFAULT_LOCALE:
                filters.append(_header(LOCALE_METADATA_KEY, exact=locale))
            mapper: dict[str, Any] = {
                "filter": {"and_filter": {"filters": filters}},
                "body_format_override": {
                    "text_format_source": {"inline_string": error_body(status, locale)},
                    "content_type": "application/json",
                },
            }
            if error.reply_status is not None:
                mapper["status_code"] = error.reply_status
            mappers.append(mapper)
    return {"mappers": mappers}
