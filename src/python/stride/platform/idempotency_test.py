"""Request ids over real Postgres: a retry within the window replays the stored response; the
pruner removes responses past the window, after which the same request id is a new request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import cast

from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.platform.db.uow import UnitOfWork
from stride.platform.errors import InvalidArgument
from stride.platform.idempotency import (
    RecordedRequest,
    claim_request_ids,
    fingerprint,
    idempotent,
    prune_expired_responses,
    prune_responses,
    record_response,
)

METHOD = "/stride.test.v1.TestService/Mutate"


class Mutation:
    """A mutation that answers with how many times it ran."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self) -> StringValue:
        self.runs += 1
        return StringValue(value=f"run {self.runs}")


async def send(
    sessions: async_sessionmaker[AsyncSession], mutation: Mutation, request_id: str
) -> str:
    uow = UnitOfWork(sessions, source="test")
    request = StringValue(value="the same request")
    reply = await idempotent(uow, METHOD, request, request_id, mutation, StringValue)
    return reply.value


async def stored(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    async with sessions() as session:
        rows = await session.execute(text("SELECT request_id FROM idempotency_keys"))
        return set(rows.scalars())


async def test_a_retry_replays_until_its_response_is_pruned_then_runs_anew(
    platform_sessions: async_sessionmaker[AsyncSession],
) -> None:
    mutation = Mutation()
    first = await send(platform_sessions, mutation, "old")
    retried = await send(platform_sessions, mutation, "old")
    between = datetime.now(UTC)
    recent = await send(platform_sessions, mutation, "recent")

    pruned = await prune_responses(platform_sessions, stored_before=between, batch_size=1)

    assert (first, retried, recent) == ("run 1", "run 1", "run 2")
    assert pruned == 1
    assert await stored(platform_sessions) == {"recent"}
    assert await send(platform_sessions, mutation, "recent") == "run 2"  # Still within its window.
    assert await send(platform_sessions, mutation, "old") == "run 3"  # A new request now.


async def test_the_periodic_job_prunes_what_is_older_than_the_window_at_the_clock_s_time(
    platform_sessions: async_sessionmaker[AsyncSession],
) -> None:
    await send(platform_sessions, Mutation(), "for-the-job")
    week = timedelta(days=7)
    prune = partial(prune_expired_responses, platform_sessions, week)

    await prune(clock=lambda: datetime.now(UTC) + week - timedelta(hours=1))
    assert "for-the-job" in await stored(platform_sessions)
    await prune(clock=lambda: datetime.now(UTC) + week + timedelta(hours=1))
    assert await stored(platform_sessions) == set()


async def test_a_batch_finds_what_each_request_id_answered_and_which_ids_others_used(
    platform_sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A batch of requests (group commit) claims their ids together: the one an earlier single
    request answered is replayed from there, one used by another request is refused, a new one
    is recorded with the batch — and then replays as a single request would."""
    mutation = Mutation()
    await send(platform_sessions, mutation, "single")
    same, other, new = (
        RecordedRequest(METHOD, request_id, fingerprint(StringValue(value=value)))
        for value, request_id in (
            ("the same request", "single"),
            ("another request", "single"),
            ("the same request", "batched"),
        )
    )
    uow = UnitOfWork(platform_sessions, source="test")
    async with uow:
        found = await claim_request_ids(uow.session, [same, other, new])
        record_response(uow.session, new, StringValue(value="batched").SerializeToString())
        await uow.commit()

    assert StringValue.FromString(cast(bytes, found[same])).value == "run 1"
    assert isinstance(found[other], InvalidArgument)
    assert new not in found
    assert await send(platform_sessions, mutation, "batched") == "batched"
    assert mutation.runs == 1
