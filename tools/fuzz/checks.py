"""Checks of our own that Schemathesis runs on every response it gets while fuzzing
(`SCHEMATHESIS_HOOKS=fuzz.checks`): nothing a client sends may make a response carry the
platform's internals."""

from __future__ import annotations

import re
from typing import Any

import schemathesis

# What only an unhandled exception, a driver or a proxy's own error page would write.
INTERNALS = re.compile(
    "|".join(
        [
            r"Traceback \(most recent call last\)",
            r'File "[^"]+", line \d+',
            r"\b(asyncpg|sqlalchemy|psycopg|google\.protobuf|grpc\._cython)\.",
            r"\b(DecodeError|KeyError|TypeError|ValueError|AttributeError|UnicodeDecodeError)\b",
            r"upstream connect error|reset reason:|delayed connect error",
        ]
    )
)


@schemathesis.check
def no_internals_in_responses(ctx: Any, response: Any, case: Any) -> bool:
    """No stack trace, exception name, driver or proxy message in any response."""
    found = INTERNALS.search(response.text[:200_000])
    if found is not None:
        raise AssertionError(f"the response shows the platform's internals: {found.group(0)!r}")
    return True
