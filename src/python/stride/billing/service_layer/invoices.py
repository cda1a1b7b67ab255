"""Issuing invoices for what Billing charges and gives back, and showing them to the member:
as data, and as a receipt page in their language."""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence
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
    invoice = Invoice(
        uuid.uuid4(),
        await uow.invoices.next_number(),
        member_id,
        studio,
        currency,
        now,
        tuple(lines),
        source,
    )
    await uow.invoices.add(invoice)
    uow.publish(
        INVOICE_ISSUED,
        subject=invoice.resource_name,
        payload=events_pb2.InvoiceIssued(
            invoice=invoice.resource_name,
            member=f"users/{member_id}",
            number=invoice.display_number,
            currency_code=currency,
            total_minor=invoice.total_minor,
        ),
    )
    return invoice


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


def receipt_html(invoice: Invoice, locale: Locale) -> str:
    """A printable receipt in the member's language; right to left in Arabic."""

    def text(key: str) -> str:
        return html.escape(CATALOG.translate(key, locale))

    def money(amount: int) -> str:
        return f'<td class="amount" dir="ltr">{format_amount(amount, invoice.currency)}</td>'

    rows = "\n".join(
        f"<tr><td>{text(item.description_key)}</td>{money(item.net_minor)}"
        f"{money(item.vat_minor)}{money(item.total_minor)}</tr>"
        for item in invoice.lines
    )
    headings = "".join(
        f"<th>{text(key)}</th>"
        for key in ("receipt.item", "receipt.net", "receipt.vat", "receipt.total")
    )
    direction = "rtl" if locale == "ar" else "ltr"
    return f"""<!doctype html>
<html lang="{locale}" dir="{direction}">
<head><meta charset="utf-8"><title>{text("receipt.title")} {invoice.display_number}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{text("receipt.title")}</h1>
<p>{text("receipt.number")}: <span dir="ltr">{invoice.display_number}</span><br>
{text("receipt.date")}: <span dir="ltr">{invoice.issued.date().isoformat()}</span><br>
{text("receipt.studio")}: {html.escape(invoice.studio)}</p>
<table>
<tr>{headings}</tr>
{rows}
<tr><th>{text("receipt.total")}</th>{money(invoice.net_minor)}{money(invoice.vat_minor)}{money(invoice.total_minor)}</tr>
</table>
</body>
</html>
"""
