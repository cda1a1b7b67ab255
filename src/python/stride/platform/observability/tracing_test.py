"""Trace context crosses process boundaries: gRPC metadata in, event envelopes out."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stride.platform.events.envelope import make_envelope
from stride.platform.observability.tracing import configure_tracing, extract_context
from stride.platform.probe.v1 import probe_service_pb2 as pb
from stride.platform.testing.probe_service import AnsweringProbe, probe_client, start_probe

EXPORTER = InMemorySpanExporter()
configure_tracing("test", None).add_span_processor(SimpleSpanProcessor(EXPORTER))
TRACE_ID, PARENT_SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


class TraceRecordingProbe(AnsweringProbe):
    def __init__(self) -> None:
        self.seen_trace_ids: list[int] = []

    async def Echo(self, request: pb.EchoRequest, context: Any) -> pb.EchoResponse:  # noqa: N802
        self.seen_trace_ids.append(trace.get_current_span().get_span_context().trace_id)
        return pb.EchoResponse()


async def test_a_call_continues_the_callers_trace() -> None:
    probe = TraceRecordingProbe()
    running = await start_probe(probe)
    channel, client = probe_client(running)
    try:
        async with channel:
            await client.Echo(
                pb.EchoRequest(),
                metadata=[("traceparent", f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01")],
            )
    finally:
        await running.stop()
    assert probe.seen_trace_ids == [int(TRACE_ID, 16)]
    (server_span,) = [s for s in EXPORTER.get_finished_spans() if s.name.endswith("/Echo")]
    assert server_span.parent is not None
    assert server_span.parent.span_id == int(PARENT_SPAN_ID, 16)


def test_an_event_carries_the_trace_it_was_published_in() -> None:
    with trace.get_tracer("test").start_as_current_span("sign up") as producer:
        envelope = make_envelope(
            source="identity",
            event_type="identity.user.registered.v1",
            subject="users/1",
            payload=pb.EchoRequest(),
        )
    producer_trace = producer.get_span_context().trace_id
    assert f"{producer_trace:032x}" in envelope.traceparent
    consumer_context = extract_context({"traceparent": envelope.traceparent})
    with trace.get_tracer("test").start_as_current_span(
        "consume", context=consumer_context
    ) as span:
        assert span.get_span_context().trace_id == producer_trace
