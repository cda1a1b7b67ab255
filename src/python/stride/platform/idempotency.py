"""AIP-155 request ids: a retried mutation returns the response of the first attempt.

The response is stored in the same transaction as the mutation it belongs to, so either both
exist or neither does. Concurrent attempts with one request id are serialized by a transaction-
scoped advisory lock; the primary key is the backstop. Stored responses are kept for the
request-id window (`REQUEST_ID_RETENTION_SECONDS`, a week by default), then pruned: a retry
after that is a new request.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import Column, DateTime, LargeBinary, String, bindparam, func, select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import Field, SQLModel, col

from stride.platform.clock import Clock, utcnow
from stride.platform.db.pruning import PRUNE_BATCH, delete_where_in_batches
from stride.platform.db.uow import UnitOfWork
from stride.platform.errors import Aborted, DomainError, FieldViolation, InvalidArgument
from stride.platform.request_ids import MAX_REQUEST_ID_LENGTH, REQUEST_ID_FIELD

_log = logging.getLogger("stride.retention")


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_keys"

    method: str = Field(sa_column=Column(String(200), primary_key=True))
    request_id: str = Field(sa_column=Column(String(MAX_REQUEST_ID_LENGTH), primary_key=True))
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    response: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


def fingerprint(request: Message) -> str:
    """Hash of the request without its request id: what "the same request" means."""
    copy = type(request)()
    copy.CopyFrom(request)
    if REQUEST_ID_FIELD in copy.DESCRIPTOR.fields_by_name:
        copy.ClearField(REQUEST_ID_FIELD)
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


# Statements built once: SQLAlchemy keeps a statement object's cache key, which a statement
# built per call has to compute again. The look-up is Core, not the ORM's `session.get`, whose
# identity map and object loading cost several times the query (tools/bench/overhead).
_STORED = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_STORED_RESPONSE = select(_STORED.c.fingerprint, _STORED.c.response).where(
    _STORED.c.method == bindparam("method"), _STORED.c.request_id == bindparam("request_id")
)
_LOCK_REQUEST_ID = select(
    func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key", type_=String), 0))
)


async def lookup(session: AsyncSession, method: str, request_id: str, print_: str) -> bytes | None:
    stored = (
        await session.execute(_STORED_RESPONSE, {"method": method, "request_id": request_id})
    ).first()
    if stored is None:
        return None
    if stored.fingerprint != print_:
        raise request_id_reused()
    return bytes(stored.response)


def request_id_reused() -> InvalidArgument:
    """The error for a request id an earlier, different request used."""
    return InvalidArgument([FieldViolation(REQUEST_ID_FIELD, "request_id.reused")])


def _lock_key(method: str, request_id: str) -> str:
    return f"{method}/{request_id}"


def _store(
    session: AsyncSession, method: str, request_id: str, print_: str, response: bytes
) -> None:
    session.add(
        IdempotencyRecord(
            method=method,
            request_id=request_id,
            fingerprint=print_,
            response=response,
            created_at=datetime.now(UTC),
        )
    )


ResponseT = TypeVar("ResponseT", bound=Message)


async def idempotent(
    uow: UnitOfWork,
    method: str,
    request: Message,
    request_id: str,
    mutate: Callable[[], Awaitable[ResponseT]],
    response_type: type[ResponseT],
) -> ResponseT:
    """Runs `mutate` in `uow` once per request id; replays return the stored response.

    Without a request id the mutation simply runs (the id is optional in AIP-155).
    """
    _check_length(request_id)
    print_ = fingerprint(request)
    async with uow:
        if request_id:
            # Serializes attempts with the same id: a concurrent retry waits for the first to
            # commit and then replays its response instead of mutating twice.
            await uow.session.execute(_LOCK_REQUEST_ID, {"key": _lock_key(method, request_id)})
            stored = await lookup(uow.session, method, request_id, print_)
            if stored is not None:
                return response_type.FromString(stored)
        response = await mutate()
        if request_id:
            _store(uow.session, method, request_id, print_, response.SerializeToString())
        try:
            await uow.commit()
        except IntegrityError as error:
            # A concurrent attempt with the same id committed first; the client's retry gets it.
            raise Aborted("REQUEST_IN_PROGRESS") from error
    return response


@dataclass(frozen=True)
class RecordedRequest:
    """A mutation with a request id, decided in a batch with others (`stride.platform.batching`):
    the batch claims its id, and records its response in the same transaction."""

    method: str
    request_id: str
    fingerprint: str

    @classmethod
    def of(cls, method: str, request_id: str, print_: str) -> RecordedRequest | None:
        """None for a request without an id (optional in AIP-155); `print_` is the request's
        `fingerprint`."""
        if not request_id:
            return None
        _check_length(request_id)
        return cls(method, request_id, print_)


async def claim_request_ids(
    session: AsyncSession, requests: Sequence[RecordedRequest]
) -> dict[RecordedRequest, bytes | DomainError]:
    """Takes every request id's lock, as `idempotent` takes one (in one order, so batches
    cannot deadlock each other), then reads what earlier attempts stored: a request's stored
    response, or the error for an id another request used. Requests absent from the result are
    new: decide them and `record_response` in this transaction."""
    if not requests:
        return {}
    keys = sorted({_lock_key(r.method, r.request_id) for r in requests})
    await session.execute(_LOCK_IN_ORDER, {"keys": keys})
    stored = await session.execute(
        select(IdempotencyRecord).where(
            tuple_(col(IdempotencyRecord.method), col(IdempotencyRecord.request_id)).in_(
                [(r.method, r.request_id) for r in requests]
            )
        )
    )
    records = {(record.method, record.request_id): record for record in stored.scalars()}
    found: dict[RecordedRequest, bytes | DomainError] = {}
    for request in requests:
        record = records.get((request.method, request.request_id))
        if record is not None:
            reused = record.fingerprint != request.fingerprint
            found[request] = request_id_reused() if reused else record.response
    return found


# The same locks `idempotent` takes one at a time, taken in hash order.
_LOCK_IN_ORDER = text(
    "SELECT count(pg_advisory_xact_lock(hash)) FROM (SELECT hashtextextended(key, 0) AS hash"
    " FROM unnest(CAST(:keys AS text[])) AS key ORDER BY 1) AS ordered"
)


def record_response(session: AsyncSession, request: RecordedRequest, response: bytes) -> None:
    """Stores the (serialized) response of a request decided in a batch; it commits with the
    decision."""
    _store(session, request.method, request.request_id, request.fingerprint, response)


def _check_length(request_id: str) -> None:
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise InvalidArgument(
            [FieldViolation(REQUEST_ID_FIELD, "field.too_long", {"max": MAX_REQUEST_ID_LENGTH})]
        )


async def prune_responses(
    sessions: async_sessionmaker[AsyncSession],
    stored_before: datetime,
    batch_size: int = PRUNE_BATCH,
) -> int:
    """Deletes the responses stored before `stored_before`; how many."""
    stored = col(IdempotencyRecord.created_at) < stored_before
    key = (col(IdempotencyRecord.method), col(IdempotencyRecord.request_id))
    return await delete_where_in_batches(sessions, IdempotencyRecord, key, stored, batch_size)


async def prune_expired_responses(
    sessions: async_sessionmaker[AsyncSession], retention: timedelta, clock: Clock = utcnow
) -> None:
    """What the periodic job runs in every service: responses older than the request-id
    window go."""
    pruned = await prune_responses(sessions, clock() - retention)
    if pruned:
        _log.info("stored responses pruned", extra={"idempotency_rows": pruned})
