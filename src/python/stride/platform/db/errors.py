"""Telling a database that is down from a bug: the first is UNAVAILABLE for the client to retry
(with its request id), the second an INTERNAL error worth a stack trace in the logs."""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc

_UNREACHABLE = (
    asyncpg.PostgresConnectionError,  # The connection died under the statement.
    asyncpg.exceptions.OperatorInterventionError,  # Shutting down, starting up, crashed.
    ConnectionError,
    OSError,  # Refused, reset, unreachable.
)


def database_unavailable(error: BaseException) -> bool:
    """The database could not be reached, or the connection died under the statement (a
    restart, a failover, the network), so nothing the caller did not see was committed."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.TimeoutError):  # No pooled connection came free in time.
        return True
    seen: BaseException | None = error
    for _ in range(10):  # SQLAlchemy wraps the driver's error, which wraps the socket's.
        if seen is None:
            return False
        if isinstance(seen, _UNREACHABLE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
