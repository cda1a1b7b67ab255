"""Studios' fee prices and the fees charged to members."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from stride.billing.adapters.claims import claim_oldest
from stride.billing.adapters.tables import (
    FeeRecord,
    PurchaseRecord,
    StudioFeesRecord,
    SubscriptionRecord,
)
from stride.billing.domain.fees import Fee, FeeKind, FeeState, StudioFees


class FeeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def prices(self, studio: str, *, lock: bool = False) -> StudioFees | None:
        """`lock`: held until commit, even while the studio has no fees yet."""
        if lock:
            await self._db.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(f"fees/{studio}", 0)))
            )
        record = await self._db.get(StudioFeesRecord, studio)
        if record is None:
            return None
        return StudioFees(
            record.studio,
            record.currency,
            record.late_cancel_minor,
            record.no_show_minor,
            record.vat_rate_basis_points,
        )

    async def set_prices(self, fees: StudioFees, now: datetime) -> None:
        values = {**asdict(fees), "updated_at": now}
        statement = insert(StudioFeesRecord).values(**values)
        await self._db.execute(
            statement.on_conflict_do_update(index_elements=["studio"], set_=values)
        )

    async def open(self, fee: Fee, now: datetime) -> bool:
        """Records a new fee; False when this booking was already charged this fee."""
        added = await self._db.execute(
            insert(FeeRecord)
            .values(
                id=fee.id,
                member_id=fee.member_id,
                studio=fee.studio,
                booking=fee.booking,
                kind=fee.kind.value,
                currency=fee.currency,
                amount_minor=fee.amount_minor,
                vat_minor=fee.vat_minor,
                state=fee.state.value,
                customer=fee.customer,
                payment_method=fee.payment_method,
                payment_intent=fee.payment_intent,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        return bool(added.rowcount)  # type: ignore[attr-defined]

    async def claim_pending(self, now: datetime, until: datetime) -> Fee | None:
        """A pending fee nobody is charging (or whose attempt died), claimed until `until`;
        fees another collector is taking are skipped."""
        claimed = await claim_oldest(
            self._db,
            FeeRecord,
            (col(FeeRecord.state) == FeeState.PENDING.value)
            & (col(FeeRecord.claimed_until).is_(None) | (col(FeeRecord.claimed_until) <= now)),
            col(FeeRecord.created_at),
            "claimed_until",
            until,
        )
        return _to_fee(claimed[0]) if claimed else None

    async def pending(self, fee_id: uuid.UUID) -> Fee | None:
        """The fee, locked, if it is still waiting for its answer."""
        record = (
            await self._db.execute(
                select(FeeRecord)
                .where(FeeRecord.id == fee_id, FeeRecord.state == FeeState.PENDING.value)
                .with_for_update()
            )
        ).scalar_one_or_none()
        return _to_fee(record) if record else None

    async def settle(self, fee: Fee) -> None:
        record = await self._db.get(FeeRecord, fee.id)
        if record is not None:
            record.state, record.payment_intent = fee.state.value, fee.payment_intent
            record.claimed_until = None
            await self._db.flush()

    async def card_on_file(self, member_id: uuid.UUID) -> str | None:
        """The card the member pays with now: their live membership's, else the last one a
        purchase succeeded with."""
        renewing = await self._db.execute(
            select(SubscriptionRecord.payment_method)
            .where(SubscriptionRecord.member_id == member_id)
            .where(col(SubscriptionRecord.next_attempt).is_not(None))
            .order_by(col(SubscriptionRecord.updated_at).desc())
            .limit(1)
        )
        if card := renewing.scalar_one_or_none():
            return str(card)
        paid = await self._db.execute(
            select(PurchaseRecord.payment_method)
            .where(PurchaseRecord.member_id == member_id)
            .where(PurchaseRecord.state == "succeeded")
            .where(PurchaseRecord.payment_method != "")
            .order_by(col(PurchaseRecord.updated_at).desc())
            .limit(1)
        )
        found = paid.scalar_one_or_none()
        return str(found) if found else None


def _to_fee(record: FeeRecord) -> Fee:
    return Fee(
        id=record.id,
        member_id=record.member_id,
        studio=record.studio,
        booking=record.booking,
        kind=FeeKind(record.kind),
        currency=record.currency,
        amount_minor=record.amount_minor,
        vat_minor=record.vat_minor,
        state=FeeState(record.state),
        customer=record.customer,
        payment_method=record.payment_method,
        payment_intent=record.payment_intent,
        claimed_until=record.claimed_until,
    )
