"""Issuing invoices for what Billing charges and gives back, and showing them to the member:
as data, and as a receipt page in their language."""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from stride.billing.domain.invoices import Invoice, format_amount
from stride.billing.domain.money import Line
from stride.billing.events.v1 import events_pb2
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.errors import NotFound
from stride.platform.i18n import CATALOG, Locale

INVOICE_ISSUED = "billing.invoice.issued.v1"
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{padding:.4rem;border-bottom:1px solid #ddd;text-align:start}"
    ".amount{text-align:end}"
)


@dataclass(frozen=True)
class Billed:
    """What an invoice is for, before it has its number."""

    member_id: uuid.UUID
    studio: str
    currency: str
    lines: Sequence[Line]
    source: str


async def issue_invoice(
    uow: BillingUnitOfWork,
    member_id: uuid.UUID,
    studio: str,
    currency: str,
    lines: Sequence[Line],
    source: str,
    now: datetime,
) -> Invoice:
    """In the caller's transaction, so the invoice exists exactly when what it bills does."""
    (invoice,) = await issue_invoices(
        uow, [Billed(member_id, studio, currency, lines, source)], now
    )
    return invoice


async def issue_invoices(
    uow: BillingUnitOfWork, billed: Sequence[Billed], now: datetime
) -> list[Invoice]:
    """Invoices for `billed` in the caller's transaction, numbered in order with one take of
    the counter (which stays locked until commit). Every payment invoiced is audited too, so
    the audit chain's tail is locked first: transactions that take both take them in the same
    order, and never wait on each other in a circle (a purchase audits its entitlement before
    it invoices, a renewal invoices before it audits)."""
    if not billed:
        return []
    await uow.audit.lock_tail()
    numbers = await uow.invoices.next_numbers(len(billed))
    invoices = [
        Invoice(
            uuid.uuid4(),
            number,
            item.member_id,
            item.studio,
            item.currency,
            now,
            tuple(item.lines),
            item.source,
        )
        for number, item in zip(numbers, billed, strict=True)
    ]
    await uow.invoices.add_all(invoices)
    for invoice in invoices:
        uow.publish(
            INVOICE_ISSUED,
            subject=invoice.resource_name,
            payload=events_pb2.InvoiceIssued(
                invoice=invoice.resource_name,
                member=f"users/{invoice.member_id}",
                number=invoice.display_number,
                currency_code=invoice.currency,
                total_minor=invoice.total_minor,
            ),
        )
    return invoices


async def list_invoices(
    uow: BillingUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[Invoice]:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        return await uow.invoices.for_member(member_id, offset, limit)


async def get_invoice(
    uow: BillingUnitOfWork, member_id: uuid.UUID, invoice_id: uuid.UUID
) -> Invoice:
    require_self_or_role(str(member_id), "admin")
    async with uow:
        invoice = await uow.invoices.get(invoice_id)
    if invoice is None or invoice.member_id != member_id:
        raise NotFound("INVOICE_NOT_FOUND", "invoice.not_found")
    return invoice


@dataclass(frozen=True)
class ReceiptText:
    """A receipt's words in one language, whichever format shows them (HTML, PDF)."""

    locale: Locale
    title: str
    number: str
    facts: tuple[tuple[str, str], ...]  # (label, value): the number, the date, the studio.
    headings: tuple[str, str, str, str]  # Item, before VAT, VAT, total.
    rows: tuple[tuple[str, str, str, str], ...]  # One per line, then the totals.

    @property
    def right_to_left(self) -> bool:
        return self.locale == "ar"


def receipt_text(invoice: Invoice, locale: Locale) -> ReceiptText:
    def text(key: str) -> str:
        return CATALOG.translate(key, locale)

    def amounts(net: int, vat: int, total: int) -> tuple[str, str, str]:
        return (
            format_amount(net, invoice.currency),
            format_amount(vat, invoice.currency),
            format_amount(total, invoice.currency),
        )

    rows = tuple(
        (text(item.description_key), *amounts(item.net_minor, item.vat_minor, item.total_minor))
        for item in invoice.lines
    )
    total = (
        text("receipt.total"),
        *amounts(invoice.net_minor, invoice.vat_minor, invoice.total_minor),
    )
    return ReceiptText(
        locale,
        text("receipt.title"),
        invoice.display_number,
        (
            (text("receipt.number"), invoice.display_number),
            (text("receipt.date"), invoice.issued.date().isoformat()),
            (text("receipt.studio"), invoice.studio),
        ),
        (text("receipt.item"), text("receipt.net"), text("receipt.vat"), text("receipt.total")),
        (*rows, total),
    )


def receipt_html(receipt: ReceiptText) -> str:
    """A printable receipt page; right to left in Arabic, with numbers kept left to right."""
    escape = html.escape

    def cells(row: Sequence[str], tag: str) -> str:
        first, *amounts = row
        return f"<{tag}>{escape(first)}</{tag}>" + "".join(
            f'<{tag} class="amount" dir="ltr">{escape(amount)}</{tag}>' for amount in amounts
        )

    facts = "<br>\n".join(
        f'{escape(label)}: <span dir="ltr">{escape(value)}</span>' for label, value in receipt.facts
    )
    *lines, total = receipt.rows
    rows = "\n".join(f"<tr>{cells(row, 'td')}</tr>" for row in lines)
    headings = "".join(f"<th>{escape(heading)}</th>" for heading in receipt.headings)
    direction = "rtl" if receipt.right_to_left else "ltr"
    return f"""<!doctype html>
<html lang="{receipt.locale}" dir="{direction}">
<head><meta charset="utf-8"><title>{escape(receipt.title)} {receipt.number}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{escape(receipt.title)}</h1>
<p>{facts}</p>
<table>
<tr>{headings}</tr>
{rows}
<tr>{cells(total, 'th')}</tr>
</table>
</body>
</html>
"""
