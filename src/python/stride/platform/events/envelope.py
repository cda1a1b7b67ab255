"""The envelope around every event, and how event types map to NATS subjects and streams."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message

from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.observability.tracing import inject_context


def make_envelope(*, source: str, event_type: str, subject: str, payload: Message) -> Envelope:
    """Wraps `payload` for publishing, stamped with a new id, the time and the current trace."""
    if not event_type.startswith(f"{source}."):
        raise ValueError(f"event type {event_type!r} must start with its source {source!r}")
    trace_context: dict[str, str] = {}
    inject_context(trace_context)
    time = timestamp_pb2.Timestamp()
    time.FromDatetime(datetime.now(UTC))
    data = any_pb2.Any()
    data.Pack(payload)
    return Envelope(
        id=str(uuid.uuid4()),
        type=event_type,
        source=source,
        time=time,
        subject=subject,
        traceparent=trace_context.get("traceparent", ""),
        tracestate=trace_context.get("tracestate", ""),
        data=data,
    )


def nats_subject(prefix: str, event_type: str) -> str:
    """`identity.user.registered.v1` → `stride.identity.user.registered.v1`."""
    return f"{prefix}.{event_type}"


def stream_name(prefix: str, source: str) -> str:
    """Each producing service owns one stream, e.g. STRIDE_IDENTITY."""
    return f"{prefix}_{source}".upper()


def stream_subjects(prefix: str, source: str) -> list[str]:
    return [f"{prefix}.{source}.>"]


def trace_headers(envelope: Envelope) -> dict[str, str]:
    headers = {"traceparent": envelope.traceparent} if envelope.traceparent else {}
    if envelope.tracestate:
        headers["tracestate"] = envelope.tracestate
    return headers
