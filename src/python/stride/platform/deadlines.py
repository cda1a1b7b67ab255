"""The deadline of the request being served, for the work it does to respect.

The server interceptor sets it, when a call begins, from the caller's gRPC deadline, Envoy's
own timeout for the request (`x-envoy-expected-rq-timeout-ms`: Envoy answers 504 when it
passes, whatever the service does after) and the service's cap, and cuts the handler off there.
Work done for the request reads it: a unit of work waits for a pooled connection only until
then, and a booking waiting in a batch (`stride.platform.batching`) is dropped once its answer
could no longer reach the caller — a booking the member never heard of is worse than none, and
the app's retry with the same request id gets what was decided either way.
"""

from __future__ import annotations

import asyncio
import contextvars

from stride.platform.context import ContextScope

# Kept back from the deadline for the answer to travel to the caller (through Envoy) before
# the caller's own timer fires.
ANSWER_MARGIN_SECONDS = 0.25

# When the current request must have its answer, on the event loop's clock; None outside a
# request (event consumers, background jobs), which have no deadline.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "stride_deadline", default=None
)


def deadline_scope(at: float) -> ContextScope[float | None]:
    """`with deadline_scope(at):` the code inside serves a request due at `at` (event-loop
    time)."""
    return ContextScope(_deadline, at)


def time_left() -> float | None:
    """Seconds until the current request's deadline (never below zero); None outside one."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return max(deadline - asyncio.get_running_loop().time(), 0.0)


def current_deadline() -> float | None:
    """The current request's deadline (event-loop time), if one is being served."""
    return _deadline.get()


def time_to_answer(deadline: float | None = None) -> float | None:
    """Seconds left for work whose answer must still reach the caller of `deadline` (the
    current request's by default); None when there is no deadline; never below zero."""
    if deadline is None:
        deadline = _deadline.get()
    if deadline is None:
        return None
    return max(deadline - ANSWER_MARGIN_SECONDS - asyncio.get_running_loop().time(), 0.0)
