"""OpenTelemetry tracing, propagated as W3C trace context over gRPC metadata and NATS headers."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def configure_tracing(service: str, otlp_endpoint: str | None) -> TracerProvider:
    """Installs a tracer provider; spans are exported only when an OTLP endpoint is configured."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"stride-{service}"}))
    if otlp_endpoint:
        # The exporter and OTLP's messages are a few MB in every process: loaded only where
        # spans are exported.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    return provider


def inject_context(carrier: MutableMapping[str, str]) -> None:
    """Writes the current trace context (`traceparent`, `tracestate`) into `carrier`."""
    propagate.inject(carrier)


def extract_context(carrier: Mapping[str, str]) -> Context:
    return propagate.extract(carrier)
