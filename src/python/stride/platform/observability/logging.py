"""Structured logs: one JSON object per line on stderr, with the current trace and span ids."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

# Attributes every LogRecord has; anything else came from `extra=` and is logged as a field.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


# Postgres quotes the values a statement failed on in its error's DETAIL line (`Key
# (email)=(…) already exists.`, `Failing row contains (…)`), and asyncpg quotes an argument it
# could not encode; the database engine hides the bound parameters themselves.
_DATABASE_VALUES = re.compile(
    r"^(DETAIL:  ).*$|(invalid input for query argument \$\d+: ).*$", re.MULTILINE
)


def _without_database_values(formatted: str) -> str:
    return _DATABASE_VALUES.sub(lambda m: f"{m.group(1) or m.group(2)}(hidden)", formatted)


class _HidesDatabaseValues(logging.Formatter):
    """Exceptions formatted without the values a failed statement quoted."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name.
        return _without_database_values(super().formatException(ei))


class JsonFormatter(_HidesDatabaseValues):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self._service,
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        entry.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


# One encoder for every line: `json.dumps` with arguments builds a new one per call.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    # What no line shows is not gathered for every record (the Logging HOWTO's
    # "Optimization"): the caller's file and line, found by walking the stack, and thread and
    # process ids.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            _HidesDatabaseValues(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
