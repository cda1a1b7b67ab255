"""Issues and reads invoices; numbers come from one locked counter so they have no gaps."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from stride.billing.adapters.tables import InvoiceLineRecord, InvoiceNumberRecord, InvoiceRecord
from stride.billing.domain.invoices import Invoice
from stride.billing.domain.money import Line


class InvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._db = session

    async def next_numbers(self, count: int) -> range:
        """The next `count` invoice numbers, in one step; the counter stays locked until this
        transaction ends, so a batch takes it once: call it last."""
        taken = await self._db.execute(
            update(InvoiceNumberRecord)
            .where(col(InvoiceNumberRecord.id) == 1)
            .values(last=col(InvoiceNumberRecord.last) + count)
            .returning(col(InvoiceNumberRecord.last))
        )
        last = int(taken.scalar_one())
        return range(last - count + 1, last + 1)

    async def add_all(self, invoices: Sequence[Invoice]) -> None:
        self._db.add_all(
            InvoiceRecord(
                id=invoice.id,
                number=invoice.number,
                member_id=invoice.member_id,
                studio=invoice.studio,
                currency=invoice.currency,
                issued_at=invoice.issued,
                source=invoice.source,
            )
            for invoice in invoices
        )
        await self._db.flush()  # The lines refer to them.
        self._db.add_all(
            InvoiceLineRecord(
                invoice_id=invoice.id,
                position=position,
                description_key=item.description_key,
                net_minor=item.net_minor,
                vat_minor=item.vat_minor,
            )
            for invoice in invoices
            for position, item in enumerate(invoice.lines, start=1)
        )
        await self._db.flush()

    async def get(self, invoice_id: uuid.UUID) -> Invoice | None:
        found = await self._invoices(select(InvoiceRecord).where(InvoiceRecord.id == invoice_id))
        return found[0] if found else None

    async def for_member(self, member_id: uuid.UUID, offset: int, limit: int) -> list[Invoice]:
        return await self._invoices(
            select(InvoiceRecord)
            .where(InvoiceRecord.member_id == member_id)
            .order_by(col(InvoiceRecord.number).desc())
            .offset(offset)
            .limit(limit)
        )

    async def _invoices(self, query: object) -> list[Invoice]:
        records = (await self._db.execute(query)).scalars().all()  # type: ignore[call-overload]
        lines: dict[uuid.UUID, list[Line]] = defaultdict(list)
        if records:
            rows = await self._db.execute(
                select(InvoiceLineRecord)
                .where(col(InvoiceLineRecord.invoice_id).in_([r.id for r in records]))
                .order_by(col(InvoiceLineRecord.invoice_id), col(InvoiceLineRecord.position))
            )
            for item in rows.scalars().all():
                lines[item.invoice_id].append(
                    Line(item.description_key, item.net_minor, item.vat_minor)
                )
        return [
            Invoice(
                id=record.id,
                number=record.number,
                member_id=record.member_id,
                studio=record.studio,
                currency=record.currency,
                issued=record.issued_at,
                lines=tuple(lines[record.id]),
                source=record.source,
            )
            for record in records
        ]
