"""Live sessions against real Postgres and NATS: a watcher gets the log from where it asks, then
every new update as it is stored — across a reconnect, across replicas and when a wake-up is
lost — with no gap and nothing twice; bad readings store nothing; a day-old log is pruned and
a watcher asking for what is gone is told so; a class's board shows its live members only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import pytest_asyncio
from activity.support import consenting
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.activity.adapters.repository import prune_live_updates
from stride.activity.domain.live import Heartbeat, HeartRate, LiveUpdate, UpdateKind
from stride.activity.domain.sessions import LoggedSet, SessionFields, SessionState
from stride.activity.service_layer import handlers
from stride.activity.service_layer.commands import (
    RecordHeartRate,
    UploadWorkoutSession,
    WatchWorkoutSession,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.errors import FailedPrecondition, InvalidArgument
from stride.platform.events.live import LiveSignals

SQUAT = "exercises/barbell-back-squat"
SPIN = "studios/olaya/classSessions/spin-0700"
LONG = 600.0  # A heartbeat interval no test waits for unless it means to.


@pytest_asyncio.fixture(scope="module")
async def replicas(nats_url: str, event_prefix: str) -> AsyncIterator[list[LiveSignals]]:
    """Two replicas' signals: what one stores wakes the other's watchers too."""
    signals = [LiveSignals(nats_url, event_prefix, "activity") for _ in range(2)]
    for each in signals:
        await each.start()
    yield signals
    for each in signals:
        await each.stop()


class Deaf:
    """A replica whose wake-ups never come (NATS unreachable): only its own reads find news."""

    async def notify(self, *topics: str) -> None:
        return None

    @contextmanager
    def waiting(self, topic: str) -> Iterator[asyncio.Event]:
        yield asyncio.Event()


def now() -> datetime:
    return datetime.now(UTC)


def a_set(position: int, version: int = 1) -> LoggedSet:
    return LoggedSet(
        uuid.uuid4(), SQUAT, position=position, reps=5, weight_kg=100.0, version=version
    )


def upload(
    member: uuid.UUID,
    session: uuid.UUID,
    sets: tuple[LoggedSet, ...],
    *,
    class_session: str = "",
    completed: bool = False,
    version: int = 1,
) -> UploadWorkoutSession:
    start = now() - timedelta(minutes=20)
    fields = SessionFields(
        display_name="Legs",
        workout_template="",
        class_session=class_session,
        state=SessionState.COMPLETED if completed else SessionState.IN_PROGRESS,
        start_time=start,
        end_time=now() if completed else None,
        notes="",
        version=version,
    )
    return UploadWorkoutSession(member, session, fields, sets)


def readings(*bpms: int) -> tuple[HeartRate, ...]:
    taken = now() - timedelta(seconds=len(bpms))
    return tuple(HeartRate(taken + timedelta(seconds=i), bpm) for i, bpm in enumerate(bpms))


async def take(
    stream: AsyncGenerator[LiveUpdate | Heartbeat, None], count: int
) -> list[LiveUpdate]:
    """The next `count` updates of the stream (heartbeats skipped), waiting at most 10 s each."""
    taken: list[LiveUpdate] = []
    while len(taken) < count:
        async with asyncio.timeout(10):
            item = await anext(stream)
        if isinstance(item, LiveUpdate):
            taken.append(item)
    return taken


async def test_a_watcher_resuming_after_its_last_sequence_misses_nothing_and_gets_nothing_twice(
    new_uow: partial[ActivityUnitOfWork], replicas: list[LiveSignals]
) -> None:
    phone_replica, watch_replica = replicas
    member, session = uuid.uuid4(), uuid.uuid4()
    await consenting(new_uow, member)
    first_sets = (a_set(0), a_set(1))
    await handlers.upload_session(new_uow(), upload(member, session, first_sets), phone_replica)

    watch = WatchWorkoutSession(member, session, after_sequence=0)
    await handlers.check_watch(new_uow(), watch)
    stream = handlers.watch_session(new_uow, watch_replica, watch, LONG)
    replayed = await take(stream, 3)  # Started, two sets: from the log.
    assert [u.change.kind for u in replayed] == [
        UpdateKind.STATE,
        UpdateKind.SET,
        UpdateKind.SET,
    ]
    # Tailing: a heart-rate batch stored through the other replica reaches this one.
    await handlers.record_heart_rate(
        new_uow(), RecordHeartRate(member, session, readings(120, 150)), phone_replica, 190
    )
    tailed = await take(stream, 2)
    assert [(u.change.heart_rate.bpm, u.change.heart_rate.zone) for u in tailed] == [  # type: ignore[union-attr]
        (120, 2),
        (150, 3),
    ]
    await stream.aclose()  # The connection drops mid-session…
    last_seen = tailed[-1].sequence

    # …and the session goes on while nobody watches.
    await handlers.record_heart_rate(
        new_uow(), RecordHeartRate(member, session, readings(172)), phone_replica, 190
    )
    await handlers.upload_session(
        new_uow(), upload(member, session, (a_set(2),), version=2), phone_replica
    )

    resumed = WatchWorkoutSession(member, session, after_sequence=last_seen)
    await handlers.check_watch(new_uow(), resumed)
    stream = handlers.watch_session(new_uow, watch_replica, resumed, LONG)
    missed = await take(stream, 2)
    await handlers.upload_session(
        new_uow(),
        upload(member, session, (), completed=True, version=3),
        phone_replica,
    )
    new = await take(stream, 1)
    await stream.aclose()

    sequences = [u.sequence for u in replayed + tailed + missed + new]
    assert sequences == list(range(1, 9))
    assert [u.change.kind for u in missed] == [UpdateKind.HEART_RATE, UpdateKind.SET]
    assert new[0].change.state is SessionState.COMPLETED
    stored = await handlers.get_session(new_uow(), member, session)
    assert stored.live_sequence == 8


async def test_updates_stored_while_uploads_race_are_numbered_without_gaps(
    new_uow: partial[ActivityUnitOfWork], replicas: list[LiveSignals]
) -> None:
    live = replicas[0]
    member, session = uuid.uuid4(), uuid.uuid4()
    await consenting(new_uow, member)
    await handlers.upload_session(new_uow(), upload(member, session, ()), live)
    await asyncio.gather(
        *(
            handlers.record_heart_rate(
                new_uow(), RecordHeartRate(member, session, readings(100 + i, 101 + i)), live, 190
            )
            for i in range(10)
        ),
        *(
            handlers.upload_session(new_uow(), upload(member, session, (a_set(i),)), live)
            for i in range(5)
        ),
    )
    watch = WatchWorkoutSession(member, session, after_sequence=0)
    stream = handlers.watch_session(new_uow, live, watch, LONG)
    everything = await take(stream, 1 + 20 + 5)
    await stream.aclose()
    assert [u.sequence for u in everything] == list(range(1, 27))


async def test_a_watcher_whose_wake_up_is_lost_still_gets_the_update_on_its_next_read(
    new_uow: partial[ActivityUnitOfWork], replicas: list[LiveSignals]
) -> None:
    member, session = uuid.uuid4(), uuid.uuid4()
    await consenting(new_uow, member)
    await handlers.upload_session(new_uow(), upload(member, session, ()), replicas[0])
    watch = WatchWorkoutSession(member, session, after_sequence=1)
    stream = handlers.watch_session(new_uow, Deaf(), watch, heartbeat_seconds=0.2)
    await handlers.record_heart_rate(
        new_uow(), RecordHeartRate(member, session, readings(130)), replicas[0], 190
    )
    (update,) = await take(stream, 1)
    quiet = await anext(stream)  # Nothing more: a heartbeat with the last sequence.
    await stream.aclose()
    assert update.sequence == 2
    assert quiet == Heartbeat(2)


async def test_a_bad_reading_refuses_the_batch_and_stores_nothing(
    new_uow: partial[ActivityUnitOfWork], replicas: list[LiveSignals]
) -> None:
    live = replicas[0]
    member, session = uuid.uuid4(), uuid.uuid4()
    await consenting(new_uow, member)
    await handlers.upload_session(new_uow(), upload(member, session, ()), live)
    batch = (*readings(140), HeartRate(now() + timedelta(hours=1), 140))
    with pytest.raises(InvalidArgument) as refused:
        await handlers.record_heart_rate(
            new_uow(), RecordHeartRate(member, session, batch), live, 190
        )
    assert [v.field for v in refused.value.violations] == ["readings[1].time"]
    assert (await handlers.get_session(new_uow(), member, session)).live_sequence == 1


async def test_a_day_old_log_is_pruned_and_a_watch_after_what_is_gone_is_refused(
    new_uow: partial[ActivityUnitOfWork],
    sessions: async_sessionmaker[AsyncSession],
    replicas: list[LiveSignals],
) -> None:
    live = replicas[0]
    member, session = uuid.uuid4(), uuid.uuid4()
    await consenting(new_uow, member)
    await handlers.upload_session(new_uow(), upload(member, session, (a_set(0),)), live)
    # A day later for these rows (every row of the module's database: this test's are two).
    assert await prune_live_updates(sessions, now() + timedelta(seconds=1)) >= 2
    with pytest.raises(FailedPrecondition) as expired:
        await handlers.check_watch(new_uow(), WatchWorkoutSession(member, session, 0))
    assert expired.value.reason == "LIVE_UPDATES_EXPIRED"
    # Up to date already: nothing missing, watching goes on from here.
    await handlers.check_watch(new_uow(), WatchWorkoutSession(member, session, 2))
    with pytest.raises(InvalidArgument) as ahead:
        await handlers.check_watch(new_uow(), WatchWorkoutSession(member, session, 3))
    assert ahead.value.violations[0].field == "after_sequence"


async def test_the_board_shows_each_live_member_of_the_class_once_with_their_latest_zone(
    new_uow: partial[ActivityUnitOfWork], replicas: list[LiveSignals]
) -> None:
    member_replica, board_replica = replicas
    rider, other_rider, elsewhere = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sessions = {who: uuid.uuid4() for who in (rider, other_rider, elsewhere)}
    for who in sessions:
        await consenting(new_uow, who)
    for who in (rider, other_rider):
        await handlers.upload_session(
            new_uow(), upload(who, sessions[who], (), class_session=SPIN), member_replica
        )
    await handlers.upload_session(
        new_uow(),
        upload(elsewhere, sessions[elsewhere], (), class_session=SPIN + "-other"),
        member_replica,
    )

    async def beat(who: uuid.UUID, bpm: int) -> None:
        command = RecordHeartRate(who, sessions[who], readings(bpm))
        await handlers.record_heart_rate(new_uow(), command, member_replica, 190)

    await beat(rider, 120)
    await beat(elsewhere, 150)
    board = handlers.watch_class_heart_rates(new_uow, board_replica, SPIN, LONG, 0.0)
    async with asyncio.timeout(10):
        first = await anext(board)
    assert [(r.member_id, r.heart_rate.bpm, r.heart_rate.zone) for r in first] == [(rider, 120, 2)]
    await beat(other_rider, 180)
    async with asyncio.timeout(10):
        second = await anext(board)
    await board.aclose()
    assert [(r.member_id, r.heart_rate.bpm, r.heart_rate.zone) for r in second] == [
        (other_rider, 180, 5)
    ]


async def test_heart_rate_is_kept_only_with_consent_and_forgotten_when_it_is_withdrawn(
    new_uow: partial[ActivityUnitOfWork], live: LiveSignals
) -> None:
    member, session = uuid.uuid4(), uuid.uuid4()
    await handlers.upload_session(
        new_uow(), upload(member, session, (), class_session=SPIN + "-consent"), live
    )
    command = RecordHeartRate(member, session, readings(140))
    with pytest.raises(FailedPrecondition):
        await handlers.record_heart_rate(new_uow(), command, live, 190)
    await consenting(new_uow, member)
    await handlers.record_heart_rate(new_uow(), command, live, 190)
    board = handlers.watch_class_heart_rates(new_uow, live, SPIN + "-consent", LONG, 0.0)
    async with asyncio.timeout(10):
        assert [r.member_id for r in await anext(board)] == [member]
    await board.aclose()

    await handlers.update_consent(new_uow(), member, {"heart_rate": False})
    async with new_uow() as uow:
        kept = await uow.live.after(member, session, 0, 100)
    assert [u.change.kind for u in kept] == [UpdateKind.STATE]  # The readings went.
    board = handlers.watch_class_heart_rates(new_uow, live, SPIN + "-consent", LONG, 0.0)
    async with asyncio.timeout(10):
        assert await anext(board) == []
    await board.aclose()
