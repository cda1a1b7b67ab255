"""A class's bookings decided in batches (group commit, ADR 0006).

When a popular class opens, hundreds of bookings for it arrive at once, and each must be
decided under the class's row lock. Deciding them one transaction each made the class's lock
the queue (≈ 135 a second). Here, the bookings waiting for one class are decided together: one
transaction takes the class's lock, reads the class, which of the members already hold a
booking for it and how many upcoming bookings each holds, decides every booking in arrival
order with the same rules (`check_can_book`), and writes the bookings, the counts, the events
and the request ids' responses in a few statements. Several Scheduling processes each batch
their own arrivals; the class's row lock still orders their batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from stride.platform.batching import Batcher, Submitted
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import AlreadyExists, DomainError
from stride.platform.idempotency import (
    RecordedRequest,
    claim_request_ids,
    record_response,
    request_id_reused,
)
from stride.scheduling.domain.model import (
    Booking,
    BookingState,
    ClassSession,
    Studio,
    check_can_book,
    choose_spot,
)
from stride.scheduling.service_layer.common import (
    BOOKING_CONFIRMED,
    WAITLIST_JOINED,
    announce,
    class_session,
    spots_of,
)
from stride.scheduling.service_layer.unit_of_work import SchedulingUnitOfWork

Response = TypeVar("Response")  # The answer a booking request gets (its proto, at the edge).
ClassKey = tuple[str, uuid.UUID]  # The class's studio and id.


@dataclass(frozen=True)
class BookingRequest(Generic[Response]):
    """A booking to decide: `booking` carries its id, member and class (its credit is held),
    or is the booking this id already made (`made`), which is answered as it stands.
    `respond` makes the answer, which is stored under the request id."""

    studio: Studio
    booking: Booking
    spot: str | None
    request: RecordedRequest | None
    respond: Callable[[Booking], Response]
    made: bool = False


@dataclass
class _Batch:
    """What one batch decided so far, in arrival order."""

    session: ClassSession
    booked: set[uuid.UUID]  # Members holding an active booking for the class.
    upcoming: dict[uuid.UUID, int]  # Each member's active bookings for classes to come.
    stored: dict[RecordedRequest, bytes | DomainError]  # What earlier attempts answered.
    abandoned: set[int]  # The items (by id) whose callers stopped waiting.
    # Each request id decided in this batch: its fingerprint and its answer.
    answered: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)
    taken: set[str] | None = None  # Spots held, read when the first confirmation needs one.
    spots: tuple[str, ...] = ()
    fresh: list[Booking] = field(default_factory=list)
    responses: list[tuple[RecordedRequest, bytes]] = field(default_factory=list)


class BookingDecisions(Generic[Response]):
    """Decides bookings in batches per class (`stride.platform.batching`)."""

    def __init__(
        self,
        new_uow: Callable[[], SchedulingUnitOfWork],
        parse: Callable[[bytes], Response],
        serialize: Callable[[Response], bytes],
        clock: Clock = utcnow,
        max_batch: int = 100,
    ) -> None:
        """`parse` and `serialize` read and write the answers stored under request ids. A
        batch takes an advisory lock per request id: `max_batch` keeps that well inside
        Postgres's shared lock table when several classes open at once."""
        self._new_uow = new_uow
        self.parse = parse
        self._serialize = serialize
        self._clock = clock
        self._batches: Batcher[ClassKey, BookingRequest[Response], Response] = Batcher(
            self._decide, max_batch
        )

    async def decide(self, request: BookingRequest[Response]) -> Response:
        """The booking's answer once decided with the others waiting for its class; a refusal
        (a `DomainError`) is raised."""
        key = (request.booking.studio, request.booking.session_id)
        return await self._batches.submit(key, request)

    async def _decide(
        self, key: ClassKey, batch: Sequence[Submitted[BookingRequest[Response], Response]]
    ) -> Sequence[Response | BaseException]:
        try:
            return await self._decide_together(key, batch)
        except AlreadyExists as error:
            # The database refused the batch's rows (its unique indexes back the rules): decide
            # each booking alone, so only the one at fault is refused.
            if len(batch) == 1:
                return [error]
            decided: list[Response | BaseException] = []
            for submitted in batch:
                decided += await self._decide(key, [submitted])
            return decided

    async def _decide_together(
        self, key: ClassKey, batch: Sequence[Submitted[BookingRequest[Response], Response]]
    ) -> list[Response | BaseException]:
        slug, session_id = key
        uow = self._new_uow()
        async with uow:
            recorded = [s.item.request for s in batch if s.item.request is not None]
            stored = await claim_request_ids(uow.session, recorded)
            session = await class_session(uow, slug, session_id, lock=True)
            now = self._clock()
            # Looked at as late as possible before deciding: a caller that gave up while the
            # batch waited for the lock is not booked behind its back.
            abandoned = {id(s) for s in batch if s.abandoned}
            members = {s.item.booking.member_id for s in batch if id(s) not in abandoned}
            state = _Batch(
                session,
                await uow.bookings.members_with_active(session.id, members),
                await uow.bookings.count_upcoming_active_for(members, now),
                stored,
                abandoned,
            )
            decided = [await self._answer(uow, state, submitted, now) for submitted in batch]
            await _write(uow, state)
            await uow.commit()
        return decided

    async def _answer(
        self,
        uow: SchedulingUnitOfWork,
        batch: _Batch,
        submitted: Submitted[BookingRequest[Response], Response],
        now: datetime,
    ) -> Response | BaseException:
        if id(submitted) in batch.abandoned:
            # Nothing booked: DEADLINE_EXCEEDED, if it is still heard. Not recorded as its
            # request id's answer: a retry of it in this batch is decided itself.
            return TimeoutError()
        item = submitted.item
        request = item.request
        if request is None:
            return await self._one(uow, batch, item, now)
        key = (request.method, request.request_id)
        outcome: Response | BaseException
        if request in batch.stored:
            kept = batch.stored[request]
            outcome = kept if isinstance(kept, DomainError) else self.parse(kept)
        elif key in batch.answered:
            # The same request id twice in one batch: a retry that raced its first try.
            print_, first = batch.answered[key]
            outcome = first if print_ == request.fingerprint else request_id_reused()
        else:
            outcome = await self._one(uow, batch, item, now)
        batch.answered.setdefault(key, (request.fingerprint, outcome))
        return outcome

    async def _one(
        self,
        uow: SchedulingUnitOfWork,
        batch: _Batch,
        item: BookingRequest[Response],
        now: datetime,
    ) -> Response | BaseException:
        """One booking decided after those before it in the batch, as `check_can_book` rules."""
        booking = item.booking
        if not item.made:
            try:
                booking = await _decided(uow, batch, item, now)
            except DomainError as refused:
                return refused
        response = item.respond(booking)
        if item.request is not None:
            batch.responses.append((item.request, self._serialize(response)))
        return response


async def _decided(
    uow: SchedulingUnitOfWork,
    batch: _Batch,
    item: BookingRequest[Response],
    now: datetime,
) -> Booking:
    member = item.booking.member_id
    state = check_can_book(
        batch.session,
        item.studio.policy,
        now,
        already_booked=member in batch.booked,
        active_bookings=batch.upcoming.get(member, 0),
    )
    booking = replace(item.booking, state=state, created_at=now)
    session = batch.session
    if state is BookingState.CONFIRMED:
        if batch.taken is None:
            batch.spots, batch.taken = await spots_of(uow, session)
        spot = choose_spot(batch.spots, batch.taken, item.spot)
        if spot:
            batch.taken.add(spot)
        booking = replace(booking, spot=spot)
        batch.session = replace(session, confirmed_count=session.confirmed_count + 1)
    else:
        batch.session = replace(session, waitlist_count=session.waitlist_count + 1)
        booking = replace(booking, waitlist_position=batch.session.waitlist_count)
    batch.booked.add(member)
    batch.upcoming[member] = batch.upcoming.get(member, 0) + 1
    batch.fresh.append(booking)
    return booking


async def _write(uow: SchedulingUnitOfWork, batch: _Batch) -> None:
    """The batch's bookings (waitlisted ones numbered in arrival order), the class's counts,
    the events and the stored responses, in a few statements."""
    session_id = batch.session.id
    waitlisted = [b for b in batch.fresh if b.state is BookingState.WAITLISTED]
    next_seq = await uow.classes.take_waitlist_seqs(session_id, len(waitlisted))
    numbered: list[tuple[Booking, int | None]] = []
    for booking in batch.fresh:
        if booking.state is BookingState.WAITLISTED:
            numbered.append((booking, next_seq))
            next_seq += 1
        else:
            numbered.append((booking, None))
    await uow.bookings.add_many(numbered)
    await uow.classes.change_counts(
        session_id, confirmed=len(batch.fresh) - len(waitlisted), waitlisted=len(waitlisted)
    )
    for booking in batch.fresh:
        confirmed = booking.state is BookingState.CONFIRMED
        announce(uow, BOOKING_CONFIRMED if confirmed else WAITLIST_JOINED, booking)
    for request, response in batch.responses:
        record_response(uow.session, request, response)
