"""Billing's use cases: granting entitlements, and the holds bookings place on them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from google.protobuf.message import Message

from stride.billing.adapters.repository import EntitlementRepository
from stride.billing.domain.entitlements import (
    Entitlement,
    Hold,
    HoldState,
    Kind,
    choose_entitlement,
    validate_grant,
)
from stride.billing.events.v1 import events_pb2
from stride.billing.service_layer.commands import GrantEntitlement, HoldCredit
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.events.v1.envelope_pb2 import Envelope
from stride.platform.auth import (
    require_role,
    require_role_in_studio,
    require_self_or_role,
)
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import DomainError, FailedPrecondition, NotFound
from stride.platform.resource_names import parse_uuid_ids
from stride.scheduling.events.v1.events_pb2 import BookingChanged

ENTITLEMENT_CHANGED = "billing.entitlement.changed.v1"
STAFF = ("manager",)


class Publish(Protocol):
    def __call__(self, event_type: str, *, subject: str, payload: Message) -> None:
        ...


async def grant(
    uow: BillingUnitOfWork, command: GrantEntitlement, clock: Clock = utcnow
) -> Entitlement:
    """Runs inside the caller's unit of work (which records the request id). Platform-wide
    entitlements are for admins; a studio's manager grants that studio's."""
    studio = command.studio
    granter = require_role_in_studio(studio, *STAFF) if studio else require_role("admin")
    now = clock()
    entitlement = validate_grant(
        command.member_id,
        command.kind,
        studio,
        command.credits,
        command.start or now,
        command.expire,
    )
    await issue(
        uow,
        entitlement,
        f"users/{granter.user_id}",
        "entitlement.granted",
        {"reason": command.reason[:200]},
        now,
    )
    return entitlement


async def issue(
    uow: BillingUnitOfWork,
    entitlement: Entitlement,
    actor: str,
    action: str,
    details: dict[str, object],
    now: datetime,
) -> None:
    """Stores a new entitlement, writes why to the audit trail and announces it."""
    await uow.entitlements.add(entitlement, now)
    await uow.audit.append(
        now,
        actor,
        action,
        entitlement.resource_name,
        {
            "kind": entitlement.kind.value,
            "studio": entitlement.studio,
            "credits": entitlement.credits_total,
            "expire_time": entitlement.expire.isoformat(),
            **details,
        },
    )
    announce_entitlement(uow.publish, entitlement, "granted")


async def list_entitlements(
    uow: BillingUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[Entitlement]:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        return await uow.entitlements.for_member(member_id, offset=offset, limit=limit)


async def hold_credit(uow: BillingUnitOfWork, command: HoldCredit, clock: Clock = utcnow) -> Hold:
    """One hold per booking: asking again returns the first one, holding nothing more, and
    restarts the reconciler's grace (the booking may commit now). A hold given back because
    its booking was never made is held again. Only Scheduling asks (an internal RPC,
    authorized by its service credential)."""
    async with uow:
        held = await _hold_once(uow, command, clock)
        await uow.commit()
    return held


async def hold_credits(
    uow: BillingUnitOfWork, commands: Sequence[HoldCredit | DomainError], clock: Clock = utcnow
) -> list[Hold | DomainError]:
    """Each hold as `hold_credit` makes it, in one transaction: what a rush of bookings asks
    for together. Each is made or refused on its own (a refusal rolls back to its savepoint);
    a command that could not be read stays its error. Members' entitlements are locked in
    member order, so two batches never wait for each other in a cycle."""
    decided: dict[int, Hold | DomainError] = {}
    asked: list[tuple[int, HoldCredit]] = []
    for index, command in enumerate(commands):
        if isinstance(command, HoldCredit):
            asked.append((index, command))
        else:
            decided[index] = command
    async with uow:
        for index, command in sorted(asked, key=lambda pair: pair[1].member_id):
            try:
                async with uow.session.begin_nested():
                    decided[index] = await _hold_once(uow, command, clock)
            except DomainError as refused:
                decided[index] = refused
        await uow.commit()
    return [decided[index] for index in range(len(commands))]


async def _hold_once(uow: BillingUnitOfWork, command: HoldCredit, clock: Clock) -> Hold:
    held = await _held_already(uow, command, clock)
    if held is None:
        entitlements = await uow.entitlements.for_member(command.member_id, lock=True)
        # A concurrent retry may have won the lock.
        held = await _held_already(uow, command, clock) or await _hold(
            uow, command, entitlements, clock
        )
    return held


async def _held_already(uow: BillingUnitOfWork, command: HoldCredit, clock: Clock) -> Hold | None:
    """The hold, if it is held: asked for again, so the reconciler's grace restarts (a
    conditional update, so a hold the reconciler gives back meanwhile is not returned held).
    It must be for the same booking at the same studio: a hold is never lent to another."""
    if not await uow.entitlements.asked_again(command.hold_id, clock()):
        return None
    held = await uow.entitlements.hold(command.hold_id)
    assert held is not None  # noqa: S101 - just updated, in this transaction.
    if (held.booking, held.studio) != (command.booking, command.studio):
        raise FailedPrecondition("HOLD_OF_ANOTHER_BOOKING", "hold.other_booking")
    return held


async def _hold(
    uow: BillingUnitOfWork,
    command: HoldCredit,
    entitlements: Sequence[Entitlement],
    clock: Clock,
) -> Hold:
    """Takes what the booking uses: a new hold, or one given back before, held anew."""
    existing = await uow.entitlements.hold(command.hold_id)
    chosen = choose_entitlement(entitlements, command.studio, command.class_start)
    hold = Hold(
        command.hold_id,
        command.member_id,
        command.booking,
        command.studio,
        command.class_start,
        chosen.id,
        HoldState.HELD,
    )
    if existing is None:
        await uow.entitlements.add_hold(hold, clock())
    elif existing.member_id != command.member_id:
        raise FailedPrecondition("HOLD_OF_ANOTHER_BOOKING", "hold.other_booking")
    else:
        await uow.entitlements.hold_again(hold, clock())
    if chosen.kind is Kind.CLASS_PACK:
        await uow.entitlements.change_credits(chosen.id, -1)
        announce_entitlement(uow.publish, chosen, "held", chosen.credits_remaining - 1)
    return hold


async def release_hold(
    uow: BillingUnitOfWork, member_id: uuid.UUID, hold_id: uuid.UUID, clock: Clock = utcnow
) -> Hold:
    """Scheduling gives back the hold of a booking it refused (an internal RPC): members never
    release credits themselves, or a booked class would be free."""
    async with uow:
        hold = await uow.entitlements.hold(hold_id, lock=True)
        if hold is None or hold.member_id != member_id:
            raise NotFound("HOLD_NOT_FOUND", "hold.not_found")
        released = await give_back(uow.entitlements, hold, clock(), uow.publish)
        await uow.commit()
    return released


async def release_for_cancelled_booking(
    envelope: Envelope, uow: BillingUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.booking.cancelled`: a timely cancellation, a waitlist place given
    up or a class the studio cancelled gives the credit back. (A late cancellation arrives as
    `booking.late_cancelled` and keeps it.) Exactly once: the consumer's inbox row commits in
    this same unit of work."""
    cancelled = BookingChanged()
    envelope.data.Unpack(cancelled)
    member_id, booking_id = parse_uuid_ids(
        cancelled.booking,
        ("users", "bookings"),
        field="booking",
        message_key="booking.invalid_name",
    )
    hold = await uow.entitlements.hold(booking_id, lock=True)
    if hold is None or hold.member_id != member_id:
        return  # Booked before entitlements existed, or not ours: nothing to give back.
    await give_back(uow.entitlements, hold, clock(), uow.publish)


async def give_back(
    repository: EntitlementRepository, hold: Hold, now: datetime, publish: Publish
) -> Hold:
    if hold.state is HoldState.RELEASED:
        return hold
    entitlements = await repository.for_member(hold.member_id, lock=True)
    used = next(e for e in entitlements if e.id == hold.entitlement_id)
    await repository.release(hold.id, now)
    if used.kind is Kind.CLASS_PACK:
        await repository.change_credits(used.id, +1)
        announce_entitlement(publish, used, "released", used.credits_remaining + 1)
    return replace(hold, state=HoldState.RELEASED)


def announce_entitlement(
    publish: Publish, entitlement: Entitlement, change: str, remaining: int | None = None
) -> None:
    publish(
        ENTITLEMENT_CHANGED,
        subject=entitlement.resource_name,
        payload=events_pb2.EntitlementChanged(
            entitlement=entitlement.resource_name,
            member=f"users/{entitlement.member_id}",
            credits_remaining=(entitlement.credits_remaining if remaining is None else remaining),
            change=change,
        ),
    )
