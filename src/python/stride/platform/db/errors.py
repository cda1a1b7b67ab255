"""Telling a database that is down from a bug: the first is UNAVAILABLE for the client to retry
(with its request id), the second an INTERNAL error worth a stack trace in the logs."""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc

# What the driver raises, or wraps, when the server is not there to answer.
_UNREACHABLE = (
    asyncpg.PostgresConnectionError,  # The connection died under the statement.
    asyncpg.exceptions.OperatorInterventionError,  # Shutting down, starting up, crashed.
    ConnectionError,
    OSError,  # Refused, reset, unreachable.
)


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached, or the connection died under the statement (a
    restart, a failover, the network). Only errors the database layer raised count: a file
    that would not open is a bug, not an outage. Whether a COMMIT the connection died under
    took effect is unknown, which is why clients retry with their request id."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.TimeoutError):  # No pooled connection came free in time.
        return True
    if not _raised_by_the_database_layer(error):
        return False
    seen: BaseException | None = error
    for _ in range(10):  # SQLAlchemy wraps the driver's error, which wraps the socket's.
        if seen is None:
            return False
        if isinstance(seen, _UNREACHABLE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _raised_by_the_database_layer(error: BaseException) -> bool:
    """SQLAlchemy or the driver raised it (wrapped, or as is: a refused connection reaches the
    caller as the socket's own error, raised from inside the pool)."""
    if isinstance(error, exc.DBAPIError | asyncpg.PostgresError | asyncpg.InterfaceError):
        return True
    frame = error.__traceback__
    while frame is not None:
        module = str(frame.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(("sqlalchemy.", "asyncpg.")):
            return True
        frame = frame.tb_next
    return False
