"""Invoices for purchases, renewals and refunds (gapless numbers, immutable lines, receipts in
Arabic and English), saved cards, and who may see them."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from billing.buying import MANAGER, Uow, a_plan, buy, member
from billing.stripe_support import CARD_OK, tokenized_card
from stride.billing.adapters.receipt_pdf import bundled_font, receipt_pdf
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.domain.invoices import Invoice
from stride.billing.domain.plans import PlanKind
from stride.billing.service_layer import invoices, purchases, subscriptions
from stride.billing.service_layer.commands import RefundPurchase
from stride.billing.service_layer.payments import list_payment_methods
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import PermissionDenied

ADMIN = Principal(user_id=str(uuid.uuid4()), roles=frozenset({"admin"}))


async def invoices_of(new_uow: Uow, buyer: Principal) -> list[Invoice]:
    with authenticated_as(buyer):
        return await invoices.list_invoices(new_uow(), uuid.UUID(buyer.user_id), 0, 100)


async def test_a_purchase_and_its_refund_are_invoiced_line_by_line(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = member()
    purchase, _ = await buy(
        new_uow, payments, buyer, await a_plan(new_uow), tokenized_card(stripe_api_base, CARD_OK)
    )
    with authenticated_as(MANAGER):
        await purchases.refund_purchase(
            new_uow(),
            payments,
            None,
            RefundPurchase(purchase.member_id, purchase.id, 10_000, "SAR", "Late", "r-1"),
        )

    credit_note, sale = await invoices_of(new_uow, buyer)
    assert sale.source == purchase.resource_name
    assert [(i.description_key, i.net_minor, i.vat_minor) for i in sale.lines] == [
        ("line.plan", 30_000, 4_500)
    ]
    assert (sale.total_minor, credit_note.total_minor) == (34_500, -10_000)
    assert credit_note.lines[0].description_key == "line.refund"
    assert credit_note.number > sale.number


async def test_invoice_numbers_have_no_gaps_under_concurrency(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    plan, buyers = await a_plan(new_uow), [member() for _ in range(8)]
    await asyncio.gather(
        *(
            buy(new_uow, payments, buyer, plan, tokenized_card(stripe_api_base, CARD_OK))
            for buyer in buyers
        )
    )
    numbers = sorted([(await invoices_of(new_uow, buyer))[0].number for buyer in buyers])
    assert numbers == list(range(numbers[0], numbers[0] + len(buyers)))


async def test_renewals_are_invoiced_once_per_period(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = member()
    plan = await a_plan(new_uow, PlanKind.MONTHLY_MEMBERSHIP)
    await buy(new_uow, payments, buyer, plan, tokenized_card(stripe_api_base, CARD_OK))
    with authenticated_as(buyer):
        (started,) = await subscriptions.list_subscriptions(
            new_uow(), uuid.UUID(buyer.user_id), 0, 10
        )
    due = started.period_end + timedelta(minutes=1)
    for _ in range(2):
        await subscriptions.renew_due(new_uow, payments, clock=lambda: due)

    renewal, _ = await invoices_of(new_uow, buyer)
    assert renewal.source == f"{started.resource_name}/periods/1"
    assert [i.description_key for i in renewal.lines] == ["line.renewal"]


async def test_issued_invoices_cannot_be_changed(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = member()
    await buy(
        new_uow, payments, buyer, await a_plan(new_uow), tokenized_card(stripe_api_base, CARD_OK)
    )
    (issued,) = await invoices_of(new_uow, buyer)
    for statement in (
        "UPDATE invoice_lines SET net_minor = 1 WHERE invoice_id = :id",
        "DELETE FROM invoices WHERE id = :id",
    ):
        uow = new_uow()
        async with uow:
            with pytest.raises(DBAPIError, match="immutable"):
                await uow.session.execute(text(statement), {"id": issued.id})


async def test_receipts_follow_the_reader_s_language(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = member()
    await buy(
        new_uow, payments, buyer, await a_plan(new_uow), tokenized_card(stripe_api_base, CARD_OK)
    )
    (issued,) = await invoices_of(new_uow, buyer)

    arabic, english = invoices.receipt_text(issued, "ar"), invoices.receipt_text(issued, "en")
    arabic_page, english_page = invoices.receipt_html(arabic), invoices.receipt_html(english)
    arabic_pdf, english_pdf = (
        pdf_text(receipt_pdf(receipt, bundled_font(), issued.issued))
        for receipt in (arabic, english)
    )

    assert 'dir="rtl"' in arabic_page
    assert "إيصال" in arabic_page
    assert "SAR 345.00" in arabic_page
    assert 'dir="ltr"' in english_page
    assert "Receipt" in english_page
    assert issued.display_number in english_page
    # The PDFs carry the same words: Arabic shaped, the text still extractable as Arabic.
    for words in ("إيصال", "الإجمالي", "SAR 345.00", issued.display_number):
        assert words in arabic_pdf
    for words in ("Receipt", "Before VAT", "SAR 345.00", issued.display_number):
        assert words in english_pdf


def pdf_text(document: bytes) -> str:
    (page,) = PdfReader(io.BytesIO(document)).pages
    return page.extract_text()


async def test_members_never_see_each_other_s_invoices_or_cards(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer, other = member(), member()
    await buy(
        new_uow, payments, buyer, await a_plan(new_uow), tokenized_card(stripe_api_base, CARD_OK)
    )
    (issued,) = await invoices_of(new_uow, buyer)
    owner = uuid.UUID(buyer.user_id)

    with authenticated_as(buyer):
        (card,) = await list_payment_methods(new_uow(), payments, owner)
    assert (card.brand, card.last4) == ("visa", "4242")
    for outsider in (other, ADMIN):
        with authenticated_as(outsider), pytest.raises(PermissionDenied):
            await list_payment_methods(new_uow(), payments, owner)
    with authenticated_as(other), pytest.raises(PermissionDenied):
        await invoices.list_invoices(new_uow(), owner, 0, 10)
    with authenticated_as(other), pytest.raises(PermissionDenied):
        await invoices.get_invoice(new_uow(), owner, issued.id)
    with authenticated_as(ADMIN):
        assert (await invoices.get_invoice(new_uow(), owner, issued.id)).id == issued.id
