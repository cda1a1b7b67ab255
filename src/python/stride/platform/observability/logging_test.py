import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from stride.platform.observability.logging import JsonFormatter


def record(message: str, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("stride.test")
    return logger.makeRecord(
        "stride.test", logging.INFO, __file__, 1, message, (), None, extra=extra
    )


def test_json_lines_carry_the_service_the_message_and_extra_fields() -> None:
    line = json.loads(JsonFormatter("identity").format(record("signed up", user="users/1")))
    assert line["service"] == "identity"
    assert line["message"] == "signed up"
    assert line["user"] == "users/1"
    assert line["level"] == "INFO"
    assert "trace_id" not in line


def test_json_lines_carry_the_current_trace() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("rpc") as span:
        line = json.loads(JsonFormatter("identity").format(record("inside a span")))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")
