"""Memberships and class packs, which one a booking uses, and the hold it places on it."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument

_STUDIO = re.compile(r"^studios/[a-z0-9][a-z0-9-]{0,62}$")
MAX_CREDITS = 500


class Kind(enum.Enum):
    MEMBERSHIP = "membership"
    CLASS_PACK = "class_pack"


@dataclass(frozen=True)
class Entitlement:
    id: uuid.UUID
    member_id: uuid.UUID
    kind: Kind
    studio: str  # `studios/{studio}`, or "" for every studio.
    credits_total: int
    credits_remaining: int
    start: datetime
    expire: datetime
    # A frozen membership books nothing in [paused_from, paused_until).
    paused_from: datetime | None = None
    paused_until: datetime | None = None

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/entitlements/{self.id}"

    def covers(self, studio: str, class_start: datetime) -> bool:
        return (
            self.studio in ("", studio)
            and self.start <= class_start < self.expire
            and not self._paused_at(class_start)
        )

    def _paused_at(self, moment: datetime) -> bool:
        if self.paused_from is None or self.paused_until is None:
            return False
        return self.paused_from <= moment < self.paused_until


def validate_grant(
    member_id: uuid.UUID,
    kind: Kind | None,
    studio: str,
    credits: int,
    start: datetime,
    expire: datetime,
) -> Entitlement:
    violations = []
    if kind is None:
        violations.append(FieldViolation("entitlement.kind", "field.required"))
    if studio and not _STUDIO.match(studio):
        violations.append(FieldViolation("entitlement.studio", "studio.invalid_name"))
    if kind is Kind.CLASS_PACK and not 1 <= credits <= MAX_CREDITS:
        violations.append(
            FieldViolation(
                "entitlement.credits_total", "field.out_of_range", {"min": 1, "max": MAX_CREDITS}
            )
        )
    if expire <= start:
        violations.append(FieldViolation("entitlement.expire_time", "entitlement.expires_first"))
    if violations or kind is None:
        raise InvalidArgument(violations)
    credits = credits if kind is Kind.CLASS_PACK else 0
    return Entitlement(uuid.uuid4(), member_id, kind, studio, credits, credits, start, expire)


def choose_entitlement(
    entitlements: Sequence[Entitlement], studio: str, class_start: datetime
) -> Entitlement:
    """A membership valid for the class if there is one (it costs nothing to use), else the
    class pack with credits left that expires soonest (so credits are not wasted)."""
    usable = [e for e in entitlements if e.covers(studio, class_start)]
    memberships = [e for e in usable if e.kind is Kind.MEMBERSHIP]
    if memberships:
        return max(memberships, key=lambda e: e.expire)
    packs = [e for e in usable if e.kind is Kind.CLASS_PACK and e.credits_remaining > 0]
    if packs:
        return min(packs, key=lambda e: (e.expire, str(e.id)))
    raise FailedPrecondition("NO_ENTITLEMENT", "entitlement.none")


class HoldState(enum.Enum):
    HELD = "held"
    RELEASED = "released"  # The credit went back (a timely cancellation, a cancelled class).


@dataclass(frozen=True)
class Hold:
    """What one booking uses: a class pack's credit, or a membership (which costs nothing)."""

    id: uuid.UUID  # The booking's id: one hold per booking.
    member_id: uuid.UUID
    booking: str  # `users/{user}/bookings/{booking}`
    studio: str
    class_start: datetime
    entitlement_id: uuid.UUID
    state: HoldState

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/holds/{self.id}"
