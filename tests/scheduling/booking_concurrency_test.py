"""Hundreds of members booking a few spots at once, against real Postgres: capacity is never
exceeded, nobody holds two bookings for one class, and the waitlist keeps arrival order."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import NoReturn, cast
from zoneinfo import ZoneInfo

import grpc
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from stride.billing.domain.entitlements import HoldState, Kind
from stride.billing.main import MIGRATIONS as BILLING_MIGRATIONS
from stride.billing.service_layer import handlers as billing
from stride.billing.service_layer.commands import GrantEntitlement, HoldCredit
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.auth import Principal, authenticated_as
from stride.platform.db.engine import create_engine, drop_database, ensure_database, session_factory
from stride.platform.db.migrations.runner import run_migrations
from stride.platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from stride.platform.events.live import LiveEvents
from stride.platform.idempotency import fingerprint, prune_responses
from stride.scheduling.domain.availability import validate_availability
from stride.scheduling.domain.model import (
    Booking,
    BookingPolicy,
    BookingState,
    ClassSession,
    booking_id,
)
from stride.scheduling.entrypoints.grpc_servicer import SchedulingServicer
from stride.scheduling.events.v1.events_pb2 import BookingChanged, ClassChanged
from stride.scheduling.main import MIGRATIONS
from stride.scheduling.service_layer import attendance, handlers
from stride.scheduling.service_layer.booking_decisions import BookingDecisions
from stride.scheduling.service_layer.unit_of_work import SchedulingUnitOfWork
from stride.scheduling.v1 import scheduling_service_pb2 as pb

ADMIN = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))
ENTITLEMENTS: list[BillingInProcess] = []  # Set by the autouse fixture below.
SPOTS, MEMBERS = 8, 200


@pytest_asyncio.fixture(scope="module")
async def new_uow(database_url: str) -> AsyncIterator[partial[SchedulingUnitOfWork]]:
    await run_migrations(database_url, MIGRATIONS)
    engine = create_engine(database_url, pool_size=20)
    yield partial(SchedulingUnitOfWork, session_factory(engine))
    await engine.dispose()


class BillingInProcess:
    """Billing's own use cases on Billing's own database, called in-process: the real rules
    for holding credits, without a network hop the booking rules don't care about."""

    def __init__(self, new_billing_uow: partial[BillingUnitOfWork]) -> None:
        self._new_uow = new_billing_uow
        self._entitled: set[uuid.UUID] = set()

    async def entitle(self, member: uuid.UUID) -> None:
        if member in self._entitled:
            return
        with authenticated_as(ADMIN):
            uow = self._new_uow()
            async with uow:
                await billing.grant(
                    uow,
                    GrantEntitlement(
                        member,
                        Kind.CLASS_PACK,
                        "",
                        50,
                        None,
                        datetime.now(UTC) + timedelta(days=90),
                    ),
                )
                await uow.commit()
        self._entitled.add(member)

    async def hold(self, booking: Booking) -> None:
        await billing.hold_credit(
            self._new_uow(),
            HoldCredit(
                booking.member_id,
                booking.resource_name,
                booking.id,
                f"studios/{booking.studio}",
                booking.class_start,
            ),
        )

    async def release(self, booking: Booking) -> None:
        with contextlib.suppress(NotFound):
            await billing.release_hold(self._new_uow(), booking.member_id, booking.id)


@pytest_asyncio.fixture(scope="module")
async def entitlements(postgres_server_url: str) -> AsyncIterator[BillingInProcess]:
    name = f"t_billing_{uuid.uuid4().hex[:8]}"
    url = await ensure_database(postgres_server_url, name)
    await run_migrations(url, BILLING_MIGRATIONS)
    engine = create_engine(url, pool_size=20)
    yield BillingInProcess(partial(BillingUnitOfWork, session_factory(engine)))
    await engine.dispose()
    await drop_database(postgres_server_url, name)


async def a_class(
    new_uow: partial[SchedulingUnitOfWork], spots: int, start: datetime | None = None
) -> ClassSession:
    """A 45-minute class in a new studio in Riyadh, starting in two days unless told when."""
    slug = f"s{uuid.uuid4().hex[:10]}"
    with authenticated_as(ADMIN):
        await handlers.create_studio(new_uow(), slug, "Olaya", "Asia/Riyadh", BookingPolicy())
        room = await handlers.create_room(new_uow(), slug, "Studio A", spots)
        spin = await handlers.create_class_type(new_uow(), slug, "Spin", "دراجات", 45, "all", ())
        start = start or datetime.now(UTC) + timedelta(days=2)
        return await handlers.create_class(new_uow(), slug, spin.id, room.id, "", start, 0)


DECISIONS: dict[
    int, BookingDecisions[Booking]
] = {}  # One per unit-of-work factory, as a process has.


def _no_request_ids(_: object) -> NoReturn:
    raise AssertionError("these bookings carry no request id: nothing is stored or replayed")


async def book(
    new_uow: partial[SchedulingUnitOfWork],
    member: uuid.UUID,
    session: ClassSession,
    spot: str | None = None,
    *,
    entitled: bool = True,
) -> Booking:
    """The member's booking as the use case decides it, answered as the domain's booking."""
    entitlements = ENTITLEMENTS[0]
    if entitled:
        await entitlements.entitle(member)
    decisions = DECISIONS.setdefault(
        id(new_uow), BookingDecisions(new_uow, _no_request_ids, _no_request_ids)
    )
    command = handlers.BookClass(
        member, session.studio, session.id, booking_id(member, "", ""), None, _as_decided, spot
    )
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        return await handlers.book(new_uow(), entitlements, decisions, command)


def _as_decided(booking: Booking) -> Booking:
    return booking


async def cancel(new_uow: partial[SchedulingUnitOfWork], booking: Booking) -> Booking:
    with authenticated_as(Principal(user_id=str(booking.member_id), roles=frozenset({"member"}))):
        return await handlers.cancel(new_uow(), booking.member_id, booking.id)


async def bookings_of(
    new_uow: partial[SchedulingUnitOfWork], members: list[uuid.UUID]
) -> list[Booking]:
    found = []
    for member in members:
        with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
            found += await handlers.list_bookings(new_uow(), member, 0, 10)
    return found


async def test_a_rush_never_overbooks_and_keeps_the_waitlist_in_arrival_order(
    new_uow: partial[SchedulingUnitOfWork], database_url: str
) -> None:
    session = await a_class(new_uow, SPOTS)
    members = [uuid.uuid4() for _ in range(MEMBERS)]
    results = await asyncio.gather(*(book(new_uow, member, session) for member in members))

    confirmed = [b for b in results if b.state is BookingState.CONFIRMED]
    waitlisted = [b for b in results if b.state is BookingState.WAITLISTED]
    assert (len(confirmed), len(waitlisted)) == (SPOTS, MEMBERS - SPOTS)
    # Positions are 1..N with no gaps or repeats, in the order the decisions were made (the
    # bookings decided together in one batch share their time).
    by_position = sorted(waitlisted, key=lambda b: b.waitlist_position)
    assert [b.waitlist_position for b in by_position] == list(range(1, MEMBERS - SPOTS + 1))
    decided_at = [b.created_at for b in by_position]
    assert decided_at == sorted(decided_at)
    with authenticated_as(ADMIN):
        stored = await handlers.get_class(new_uow(), session.studio, session.id)
    assert (stored.confirmed_count, stored.waitlist_count) == (SPOTS, MEMBERS - SPOTS)

    # Three spots free up: the first three in line get them, in order, and everyone else
    # moves up by three.
    for booking in confirmed[:3]:
        await cancel(new_uow, booking)
    now_booked = {b.member_id: b for b in await bookings_of(new_uow, members)}
    for promoted in by_position[:3]:
        assert now_booked[promoted.member_id].state is BookingState.CONFIRMED
    for still_waiting in by_position[3:]:
        booking = now_booked[still_waiting.member_id]
        assert booking.waitlist_position == still_waiting.waitlist_position - 3
    with authenticated_as(ADMIN):
        stored = await handlers.get_class(new_uow(), session.studio, session.id)
    assert (stored.confirmed_count, stored.waitlist_count) == (SPOTS, MEMBERS - SPOTS - 3)
    await assert_counts_match_rows(database_url, session)


async def test_one_member_racing_themselves_gets_exactly_one_booking(
    new_uow: partial[SchedulingUnitOfWork], database_url: str
) -> None:
    session = await a_class(new_uow, 2)
    member = uuid.uuid4()
    results = await asyncio.gather(
        *(book(new_uow, member, session) for _ in range(20)), return_exceptions=True
    )
    booked = [r for r in results if isinstance(r, Booking)]
    refused = [r for r in results if isinstance(r, AlreadyExists)]
    assert (len(booked), len(refused)) == (1, 19)
    await assert_counts_match_rows(database_url, session)


async def assert_counts_match_rows(database_url: str, session: ClassSession) -> None:
    """The class's counters agree with its booking rows."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT state, count(*) FROM bookings WHERE session_id = :id GROUP BY state"),
                {"id": session.id},
            )
            counts: dict[str, int] = dict(rows.all())
            stored = (
                await connection.execute(
                    text(
                        "SELECT confirmed_count, waitlist_count, capacity FROM class_sessions"
                        " WHERE id = :id"
                    ),
                    {"id": session.id},
                )
            ).one()
    finally:
        await engine.dispose()
    # A spot stays taken once its holder attended or did not show.
    holders = sum(counts.get(state, 0) for state in ("confirmed", "attended", "no_show"))
    assert stored.confirmed_count == holders <= stored.capacity
    assert stored.waitlist_count == counts.get("waitlisted", 0)


async def test_after_class_unattended_spots_are_no_shows_and_the_waitlist_ends(
    new_uow: partial[SchedulingUnitOfWork], database_url: str
) -> None:
    session = await a_class(new_uow, 2)
    present, absent, waiting = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    attended = await book(new_uow, present, session)
    missed = await book(new_uow, absent, session)
    await book(new_uow, waiting, session)
    uow = new_uow()
    async with uow:
        await uow.bookings.mark_attended(attended.id, session.start)
        await uow.commit()
    # Other tests' classes share this database: look at this class's bookings only.
    await attendance.settle_ended_classes(new_uow(), session.start)  # Not over yet.
    before = {b.member_id: b.state for b in await bookings_of(new_uow, [absent, waiting])}
    assert before == {absent: BookingState.CONFIRMED, waiting: BookingState.WAITLISTED}
    after = session.end + timedelta(minutes=1)
    assert await attendance.settle_ended_classes(new_uow(), after) >= 2
    states = {b.member_id: b.state for b in await bookings_of(new_uow, [present, absent, waiting])}
    assert states == {
        present: BookingState.ATTENDED,
        absent: BookingState.NO_SHOW,
        waiting: BookingState.CANCELLED,  # Never got a spot: Billing gives the credit back.
    }
    assert missed.state is BookingState.CONFIRMED
    await attendance.settle_ended_classes(new_uow(), after)  # Again: nothing changes twice.
    assert {b.member_id: b.state for b in await bookings_of(new_uow, [absent])} == {
        absent: BookingState.NO_SHOW
    }
    await assert_counts_match_rows(database_url, session)


async def outbox(database_url: str) -> list[Envelope]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT payload FROM outbox ORDER BY position"))
            payloads: list[bytes] = list(rows.scalars())
            return [Envelope.FromString(payload) for payload in payloads]
    finally:
        await engine.dispose()


async def test_a_cancelled_class_ends_every_booking_and_takes_no_more(
    new_uow: partial[SchedulingUnitOfWork], database_url: str
) -> None:
    session = await a_class(new_uow, 1)
    holder, waiting = uuid.uuid4(), uuid.uuid4()
    await book(new_uow, holder, session)
    await book(new_uow, waiting, session)
    with authenticated_as(ADMIN):
        cancelled = await handlers.cancel_class(
            new_uow(), session.studio, session.id, "Instructor unwell"
        )
    assert cancelled.cancelled_at is not None
    states = {b.member_id: b.state for b in await bookings_of(new_uow, [holder, waiting])}
    assert states == {holder: BookingState.CANCELLED, waiting: BookingState.CANCELLED}
    events = await outbox(database_url)
    (class_event,) = [e for e in events if e.subject == session.resource_name]
    changed = ClassChanged()
    class_event.data.Unpack(changed)
    assert class_event.type == "scheduling.class.cancelled.v1"
    assert set(changed.members) == {f"users/{holder}", f"users/{waiting}"}
    assert changed.reason == "Instructor unwell"
    reasons = []
    for event in events:
        if event.type == "scheduling.booking.cancelled.v1":
            booking_event = BookingChanged()
            event.data.Unpack(booking_event)
            if booking_event.class_session == session.resource_name:
                reasons.append(booking_event.reason)
    assert reasons == ["class_cancelled", "class_cancelled"]
    with pytest.raises(FailedPrecondition, match="CLASS_CANCELLED"):
        await book(new_uow, uuid.uuid4(), session)
    await assert_counts_match_rows(database_url, session)


async def test_a_rescheduled_class_carries_its_bookings(
    new_uow: partial[SchedulingUnitOfWork],
) -> None:
    session = await a_class(new_uow, 2)
    member = uuid.uuid4()
    await book(new_uow, member, session)
    later = session.start + timedelta(hours=3)
    with authenticated_as(ADMIN):
        moved = await handlers.reschedule_class(new_uow(), session.studio, session.id, later)
    assert (moved.start, moved.end - moved.start) == (later, session.end - session.start)
    (booking,) = await bookings_of(new_uow, [member])
    assert booking.class_start == later


async def test_a_weekly_schedule_creates_classes_at_the_studio_wall_clock_time(
    new_uow: partial[SchedulingUnitOfWork],
) -> None:
    session = await a_class(new_uow, 10)  # For its studio, room and class type.
    today = datetime.now(UTC).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    with authenticated_as(ADMIN):
        created = await handlers.create_schedule(
            new_uow(),
            session.studio,
            session.class_type_id,
            session.room_id,
            "",
            0,
            "FREQ=WEEKLY;BYDAY=MO,WE",
            f"{next_monday.isoformat()}T07:00",
            2,
        )
    assert 3 <= len(created) <= 4  # Two weeks from now: Mondays and Wednesdays.
    assert {(c.start.weekday(), c.start.hour, c.start.minute) for c in created} <= {
        (0, 4, 0),
        (2, 4, 0),
    }  # 07:00 in Riyadh (UTC+3, no DST).
    assert all(c.capacity == 10 for c in created)


async def test_more_spots_go_to_the_waitlist_and_fewer_than_booked_is_refused(
    new_uow: partial[SchedulingUnitOfWork], database_url: str
) -> None:
    session = await a_class(new_uow, 5)
    with authenticated_as(ADMIN):
        await handlers.update_class(
            new_uow(), session.studio, session.id, capacity=2, instructor=None
        )
    members = [uuid.uuid4() for _ in range(5)]
    for member in members:
        await book(new_uow, member, session)
    with authenticated_as(ADMIN), pytest.raises(FailedPrecondition, match="CAPACITY_BELOW"):
        await handlers.update_class(
            new_uow(), session.studio, session.id, capacity=1, instructor=None
        )
    with authenticated_as(ADMIN):
        grown = await handlers.update_class(
            new_uow(), session.studio, session.id, capacity=4, instructor=None
        )
    assert (grown.capacity, grown.confirmed_count, grown.waitlist_count) == (4, 4, 1)
    states = {b.member_id: b.state for b in await bookings_of(new_uow, members)}
    assert [states[m] for m in members] == [BookingState.CONFIRMED] * 4 + [BookingState.WAITLISTED]
    await assert_counts_match_rows(database_url, session)


async def test_instructors_teach_inside_their_hours_one_class_at_a_time(
    new_uow: partial[SchedulingUnitOfWork],
) -> None:
    # At 10:00 in the studio's zone, so an overlapping class stays on the same day whenever the
    # test runs (one starting late in the evening would run past midnight, out of hours).
    riyadh = ZoneInfo("Asia/Riyadh")
    day = (datetime.now(riyadh) + timedelta(days=2)).date()
    session = await a_class(new_uow, 5, datetime.combine(day, time(10), riyadh))
    coach = uuid.uuid4()
    coach_name = f"users/{coach}"
    with authenticated_as(ADMIN):
        with pytest.raises(FailedPrecondition, match="INSTRUCTOR_UNAVAILABLE"):
            await handlers.update_class(
                new_uow(), session.studio, session.id, capacity=None, instructor=coach_name
            )
        local = session.start.astimezone(riyadh)
        hours = validate_availability(
            [(local.isoweekday(), "00:00", "23:59")],
            [((local + timedelta(days=7)).date().isoformat(), [])],  # On leave a week later.
        )
    with authenticated_as(Principal(user_id=str(coach), roles=frozenset({"instructor"}))):
        await handlers.set_availability(new_uow(), session.studio, coach, hours)  # Their own.
    with authenticated_as(ADMIN):
        taught = await handlers.update_class(
            new_uow(), session.studio, session.id, capacity=None, instructor=coach_name
        )
        assert taught.instructor == coach_name
        overlapping = session.start + timedelta(minutes=30)
        with pytest.raises(FailedPrecondition, match="INSTRUCTOR_BUSY"):
            await handlers.create_class(
                new_uow(),
                session.studio,
                session.class_type_id,
                session.room_id,
                coach_name,
                overlapping,
                0,
            )
        with pytest.raises(FailedPrecondition, match="INSTRUCTOR_UNAVAILABLE"):
            await handlers.create_class(
                new_uow(),
                session.studio,
                session.class_type_id,
                session.room_id,
                coach_name,
                session.start + timedelta(days=7),
                0,
            )


async def test_members_pick_spots_or_get_the_first_free_one_and_never_share(
    new_uow: partial[SchedulingUnitOfWork], database_url: str
) -> None:
    slug = f"s{uuid.uuid4().hex[:10]}"
    with authenticated_as(ADMIN):
        await handlers.create_studio(new_uow(), slug, "Spin", "Asia/Riyadh", BookingPolicy())
        bikes = await handlers.create_room(new_uow(), slug, "Bikes", 0, ("1", "2", "3"))
        spin = await handlers.create_class_type(new_uow(), slug, "Spin", "دراجات", 45, "all", ())
        start = datetime.now(UTC) + timedelta(days=1)
        session = await handlers.create_class(new_uow(), slug, spin.id, bikes.id, "", start, 0)
    assert session.capacity == 3
    picky, anyone, latecomer, waiting = (uuid.uuid4() for _ in range(4))
    chose = await book_spot(new_uow, picky, session, "2")
    given = await book(new_uow, anyone, session)
    with pytest.raises(FailedPrecondition, match="SPOT_TAKEN"):
        await book_spot(new_uow, latecomer, session, "2")
    with pytest.raises(InvalidArgument):
        await book_spot(new_uow, latecomer, session, "99")
    last = await book(new_uow, latecomer, session)
    queued = await book(new_uow, waiting, session)
    assert (chose.spot, given.spot, last.spot, queued.spot) == ("2", "1", "3", None)
    await cancel(new_uow, chose)  # Bike 2 frees up and goes to the waitlist.
    (promoted,) = await bookings_of(new_uow, [waiting])
    assert (promoted.state, promoted.spot) == (BookingState.CONFIRMED, "2")
    await assert_counts_match_rows(database_url, session)


async def book_spot(
    new_uow: partial[SchedulingUnitOfWork], member: uuid.UUID, session: ClassSession, spot: str
) -> Booking:
    return await book(new_uow, member, session, spot)


@pytest.fixture(autouse=True)
def _use_billing(entitlements: BillingInProcess) -> None:
    ENTITLEMENTS[:] = [entitlements]


async def test_a_member_without_credits_cannot_book_and_a_refused_booking_gives_it_back(
    new_uow: partial[SchedulingUnitOfWork], entitlements: BillingInProcess
) -> None:
    session = await a_class(new_uow, 5)
    nobody = uuid.uuid4()
    with pytest.raises(FailedPrecondition, match="NO_ENTITLEMENT"):
        await book(new_uow, nobody, session, entitled=False)
    member = uuid.uuid4()
    await book(new_uow, member, session)
    with pytest.raises(AlreadyExists):
        await book(new_uow, member, session)
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        (pack,) = await billing.list_entitlements(entitlements._new_uow(), member, 0, 10)
    assert pack.credits_remaining == 49  # The refused second booking's hold was given back.


class AnswerLost:
    """Billing holds the credit, but its answer is lost once on the way back (a timeout, or
    Scheduling dying before the booking commits)."""

    def __init__(self, billing: BillingInProcess) -> None:
        self._billing = billing
        self._lost = False

    async def hold(self, booking: Booking) -> None:
        await self._billing.hold(booking)
        if not self._lost:
            self._lost = True
            raise Unavailable("BILLING_UNAVAILABLE")

    async def release(self, booking: Booking) -> None:
        await self._billing.release(booking)


async def test_a_retry_after_a_failure_between_hold_and_booking_books_once_on_one_hold(
    new_uow: partial[SchedulingUnitOfWork], entitlements: BillingInProcess
) -> None:
    session = await a_class(new_uow, 5)
    member = uuid.uuid4()
    await entitlements.entitle(member)
    unused = LiveEvents("nats://127.0.0.1:1", "unused", "scheduling")  # Bookings don't listen.
    servicer = SchedulingServicer(new_uow, b"k" * 32, unused, AnswerLost(entitlements))
    request = pb.CreateBookingRequest(
        parent=f"users/{member}",
        booking=pb.Booking(class_session=session.resource_name),
        request_id="tap-1",
    )
    context = cast(grpc.aio.ServicerContext, None)  # Not read by CreateBooking.
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        with pytest.raises(Unavailable):
            await servicer.CreateBooking(request, context)
        booked = await servicer.CreateBooking(request, context)
        replayed = await servicer.CreateBooking(request, context)
        (pack,) = await billing.list_entitlements(entitlements._new_uow(), member, 0, 10)
    billing_uow = entitlements._new_uow()
    async with billing_uow:
        hold = await billing_uow.entitlements.hold(
            booking_id(member, "tap-1", fingerprint(request))
        )

    (stored,) = await bookings_of(new_uow, [member])
    assert replayed == booked
    assert (booked.name, stored.id) == (
        stored.resource_name,
        booking_id(member, "tap-1", fingerprint(request)),
    )
    assert hold is not None
    assert hold.state is HoldState.HELD
    assert pack.credits_remaining == 49  # One credit held, by the one hold.


class CountingHolds:
    """Billing in-process, counting the holds Scheduling asks for."""

    def __init__(self, billing: BillingInProcess) -> None:
        self._billing = billing
        self.holds = 0

    async def hold(self, booking: Booking) -> None:
        self.holds += 1
        await self._billing.hold(booking)

    async def release(self, booking: Booking) -> None:
        await self._billing.release(booking)


async def test_a_retry_after_the_request_id_window_gets_the_booking_it_made_as_it_stands(
    new_uow: partial[SchedulingUnitOfWork], entitlements: BillingInProcess
) -> None:
    """Once the request id's stored answer is pruned (ADR 0009), a late retry of the same
    request still finds the booking it made, by the id the request names, and asks Billing
    for nothing: no second credit, none held for a cancelled booking, the held one kept."""
    session = await a_class(new_uow, 5)
    member = uuid.uuid4()
    await entitlements.entitle(member)
    counting = CountingHolds(entitlements)
    unused = LiveEvents("nats://127.0.0.1:1", "unused", "scheduling")
    servicer = SchedulingServicer(new_uow, b"k" * 32, unused, counting)
    request = pb.CreateBookingRequest(
        parent=f"users/{member}",
        booking=pb.Booking(class_session=session.resource_name),
        request_id="late-1",
    )
    context = cast(grpc.aio.ServicerContext, None)
    forget_answers = partial(
        prune_responses, new_uow.args[0], datetime.now(UTC) + timedelta(days=8)
    )
    as_member = Principal(user_id=str(member), roles=frozenset({"member"}))
    with authenticated_as(as_member):
        booked = await servicer.CreateBooking(request, context)
        await forget_answers()
        late = await servicer.CreateBooking(request, context)
        (pack,) = await billing.list_entitlements(entitlements._new_uow(), member, 0, 10)
        (stored,) = await bookings_of(new_uow, [member])
        await handlers.cancel(new_uow(), member, stored.id)
        await forget_answers()
        after_cancelling = await servicer.CreateBooking(request, context)

    assert late == booked
    assert counting.holds == 1
    assert pack.credits_remaining == 49  # The booking's one credit, still held.
    assert after_cancelling.name == booked.name
    assert after_cancelling.state == pb.Booking.STATE_CANCELLED


async def test_a_request_id_reused_for_another_booking_never_shares_the_first_one_s_hold(
    new_uow: partial[SchedulingUnitOfWork], entitlements: BillingInProcess
) -> None:
    """The same request id sent for two classes at once, and then for a third after the
    first answer was lost: each booking holds its own credit, and a request refused for reusing
    the id gives back only its own."""
    first, second, third = [await a_class(new_uow, 5) for _ in range(3)]
    member = uuid.uuid4()
    await entitlements.entitle(member)
    unused = LiveEvents("nats://127.0.0.1:1", "unused", "scheduling")
    servicer = SchedulingServicer(new_uow, b"k" * 32, unused, entitlements)
    lossy = SchedulingServicer(new_uow, b"k" * 32, unused, AnswerLost(entitlements))

    def request(session: ClassSession) -> pb.CreateBookingRequest:
        return pb.CreateBookingRequest(
            parent=f"users/{member}",
            booking=pb.Booking(class_session=session.resource_name),
            request_id="tap-2",
        )

    context = cast(grpc.aio.ServicerContext, None)
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        with pytest.raises(Unavailable):  # Held for the first class; the answer was lost.
            await lossy.CreateBooking(request(first), context)
        outcomes = await asyncio.gather(
            servicer.CreateBooking(request(second), context),
            servicer.CreateBooking(request(third), context),
            return_exceptions=True,
        )
        (pack,) = await billing.list_entitlements(entitlements._new_uow(), member, 0, 10)
    booked = [outcome for outcome in outcomes if isinstance(outcome, pb.Booking)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, InvalidArgument)]
    assert (len(booked), len(refused)) == (1, 1)
    (stored,) = await bookings_of(new_uow, [member])
    assert stored.resource_name == booked[0].name
    # The booking's credit, and the first class's, which waits for Billing's reconciler.
    assert pack.credits_remaining == 48


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    spots=st.integers(min_value=1, max_value=4),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 7)), min_size=1, max_size=16),
)
async def test_any_sequence_of_bookings_and_cancellations_keeps_the_invariants(
    new_uow: partial[SchedulingUnitOfWork],
    database_url: str,
    spots: int,
    steps: list[tuple[bool, int]],
) -> None:
    """Book (True) or cancel (False) for member i, in any order: the class never holds more
    than its spots, counts always match the rows, and the waitlist stays 1…n in order."""
    session = await a_class(new_uow, spots)
    members = [uuid.uuid4() for _ in range(8)]
    held: dict[uuid.UUID, Booking] = {}
    for booking_it, index in steps:
        member = members[index]
        if booking_it and member not in held:
            held[member] = await book(new_uow, member, session)
        elif not booking_it and member in held:
            await cancel(new_uow, held.pop(member))
        current = await bookings_of(new_uow, list(held))
        live = [b for b in current if b.state.active]
        confirmed = [b for b in live if b.state is BookingState.CONFIRMED]
        waiting = sorted(b.waitlist_position for b in live if b.state is BookingState.WAITLISTED)
        assert len(confirmed) <= spots
        assert waiting == list(range(1, len(waiting) + 1))
        assert not waiting or len(confirmed) == spots  # Nobody waits while a spot is free.
        await assert_counts_match_rows(database_url, session)
