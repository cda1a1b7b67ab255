"""Work queues over real NATS JetStream: a job enqueued twice is one job, done once and gone;
a failing job is retried with backoff or when it asks, and dead-lettered after the last try or
at once when no retry can help."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import nats
from nats.aio.msg import Msg
from nats.js.api import RetentionPolicy

from stride.platform.events.consumer import RetryLater, UnprocessableEvent, dead_letter_subject
from stride.platform.events.envelope import stream_name
from stride.platform.events.work_queue import (
    WorkQueue,
    WorkQueuePublisher,
    WorkQueueWorker,
)
from stride.platform.testing.probes import eventually, eventually_equal


class Jobs:
    """Counts each job's attempts and completions; fails a job's first `failures[job]` tries
    with `error`."""

    def __init__(self, failures: dict[bytes, int] | None = None, error: Exception | None = None):
        self.failures = failures or {}
        self.error = error or RuntimeError("busy")
        self.attempts: Counter[bytes] = Counter()
        self.done: Counter[bytes] = Counter()

    async def __call__(self, job: bytes) -> None:
        self.attempts[job] += 1
        if self.attempts[job] <= self.failures.get(job, 0):
            raise self.error
        self.done[job] += 1


@asynccontextmanager
async def running(
    queue: WorkQueue, nats_url: str, handler: Callable[[bytes], Awaitable[None]], durable: str
) -> AsyncIterator[WorkQueuePublisher]:
    publisher = WorkQueuePublisher(queue, nats_url)
    worker = WorkQueueWorker(
        queue,
        handler,
        nats_url=nats_url,
        service="test",
        durable_name=durable,
        max_deliver=3,
        backoff_seconds=(0.05, 0.1),
    )
    await worker.start()
    try:
        yield publisher
    finally:
        await worker.stop()
        await publisher.close()


async def next_dead_letter(nats_url: str, prefix: str, durable: str) -> Msg:
    connection = await nats.connect(nats_url)
    try:
        subscription = await connection.jetstream().subscribe(
            dead_letter_subject(prefix, durable), stream=stream_name(prefix, "deadletter")
        )
        return await subscription.next_msg(timeout=20)
    finally:
        await connection.close()


async def test_a_job_enqueued_twice_is_done_once_and_leaves_the_queue(
    nats_url: str, event_prefix: str
) -> None:
    queue = WorkQueue(event_prefix, "once", max_age_seconds=600)
    jobs = Jobs()
    async with running(queue, nats_url, jobs, "once") as publisher:
        await publisher.enqueue(b"job-1", "job-1")
        await publisher.enqueue(b"job-1", "job-1")  # A webhook delivered twice.
        await publisher.enqueue(b"job-2", "job-2")
        await eventually_equal(lambda: _done(jobs), {b"job-1": 1, b"job-2": 1})
        connection = await nats.connect(nats_url)
        try:
            info = await connection.jetstream().stream_info(queue.stream)
        finally:
            await connection.close()
    assert info.config.retention == RetentionPolicy.WORK_QUEUE
    assert info.config.max_age == 600
    await eventually_equal(lambda: _messages_left(nats_url, queue), 0)


async def _done(jobs: Jobs) -> dict[bytes, int]:
    return dict(jobs.done)


async def _messages_left(nats_url: str, queue: WorkQueue) -> int:
    connection = await nats.connect(nats_url)
    try:
        return int((await connection.jetstream().stream_info(queue.stream)).state.messages)
    finally:
        await connection.close()


async def test_a_failing_job_is_retried_until_it_is_done(nats_url: str, event_prefix: str) -> None:
    queue = WorkQueue(event_prefix, "retried", max_age_seconds=600)
    jobs = Jobs({b"flaky": 2})
    async with running(queue, nats_url, jobs, "retried") as publisher:
        await publisher.enqueue(b"flaky", "flaky")
        await eventually_equal(lambda: _done(jobs), {b"flaky": 1})
    assert jobs.attempts[b"flaky"] == 3


async def test_a_job_asking_to_wait_is_retried_after_its_delay(
    nats_url: str, event_prefix: str
) -> None:
    queue = WorkQueue(event_prefix, "later", max_age_seconds=600)
    jobs = Jobs({b"limited": 1}, RetryLater(0.2))
    async with running(queue, nats_url, jobs, "later") as publisher:
        await publisher.enqueue(b"limited", "limited")
        await eventually_equal(lambda: _done(jobs), {b"limited": 1})


async def test_a_job_failing_every_try_is_dead_lettered(nats_url: str, event_prefix: str) -> None:
    queue = WorkQueue(event_prefix, "doomed", max_age_seconds=600)
    jobs = Jobs({b"doomed": 100})
    async with running(queue, nats_url, jobs, "doomed") as publisher:
        await publisher.enqueue(b"doomed", "doomed")
        letter = await next_dead_letter(nats_url, event_prefix, "doomed")
    assert letter.data == b"doomed"
    assert (letter.headers or {})["Stride-Error"] == "RuntimeError"
    assert (letter.headers or {})["Stride-Original-Subject"] == queue.subject
    assert jobs.attempts[b"doomed"] == 3
    assert jobs.done[b"doomed"] == 0


async def test_a_job_no_retry_can_help_is_dead_lettered_at_once(
    nats_url: str, event_prefix: str
) -> None:
    queue = WorkQueue(event_prefix, "garbled", max_age_seconds=600)
    jobs = Jobs({b"garbled": 100}, UnprocessableEvent("not a job"))
    async with running(queue, nats_url, jobs, "garbled") as publisher:
        await publisher.enqueue(b"garbled", "garbled")
        letter = await next_dead_letter(nats_url, event_prefix, "garbled")
        await eventually(lambda: _attempted(jobs, b"garbled"))
    assert (letter.headers or {})["Stride-Error"] == "UnprocessableEvent: not a job"
    assert jobs.attempts[b"garbled"] == 1


async def _attempted(jobs: Jobs, job: bytes) -> bool:
    return jobs.attempts[job] > 0
