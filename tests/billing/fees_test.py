"""Late-cancel and no-show fees: recorded when Scheduling reports them, then charged once to a
membership's card and invoiced; class packs pay with the held credit instead."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from billing.buying import MANAGER, STUDIO, Uow, a_plan, buy, member
from billing.stripe_support import CARD_OK, payment_intents, tokenized_card
from stride.billing.adapters.stripe_payments import StripePayments
from stride.billing.adapters.tables import FeeRecord
from stride.billing.domain.fees import FeeKind, fee_id
from stride.billing.domain.plans import PlanKind
from stride.billing.service_layer import fees, handlers, invoices, subscriptions
from stride.billing.service_layer.commands import ChangePaymentMethod, HoldCredit, UpdateFees
from stride.platform.auth import Principal, authenticated_as
from stride.platform.errors import InvalidArgument, PermissionDenied
from stride.platform.events.envelope import make_envelope
from stride.scheduling.events.v1.events_pb2 import BookingChanged

CARD_FAILS_LATER = "4000000000000341"
CLASS_START = datetime.now(UTC) + timedelta(days=2)


@pytest.fixture(autouse=True)
async def studio_fees(new_uow: Uow) -> None:
    with authenticated_as(MANAGER):
        await fees.update_fees(new_uow(), UpdateFees(STUDIO, "SAR", 5_000, 10_000, 1500))


async def booked(new_uow: Uow, buyer: Principal) -> str:
    """A booking at the studio holding whatever the member has (membership or pack)."""
    member_id, booking_id = uuid.UUID(buyer.user_id), uuid.uuid4()
    booking = f"users/{member_id}/bookings/{booking_id}"
    with authenticated_as(buyer):
        await handlers.hold_credit(
            new_uow(),
            HoldCredit(member_id, booking, booking_id, f"studios/{STUDIO}", CLASS_START),
        )
    return booking


async def report(
    new_uow: Uow, payments: StripePayments, event_type: str, booking: str, member_name: str
) -> None:
    """What Billing's consumer does with Scheduling's event (records the fee, in one
    transaction), then what its collectors do (two of them at once: the fee is charged once)."""
    changed = BookingChanged(
        booking=booking, member=member_name, class_session=f"studios/{STUDIO}/classSessions/x"
    )
    envelope = make_envelope(
        source="scheduling", event_type=event_type, subject=booking, payload=changed
    )
    uow = new_uow()
    async with uow:
        await fees.record_fee(envelope, uow)
        await uow.commit()
    await asyncio.gather(*(fees.collect_fees(new_uow, payments) for _ in range(2)))


async def with_membership(new_uow: Uow, payments: StripePayments, api_base: str) -> Principal:
    buyer = member()
    plan = await a_plan(new_uow, PlanKind.MONTHLY_MEMBERSHIP)
    await buy(new_uow, payments, buyer, plan, tokenized_card(api_base, CARD_OK))
    return buyer


async def fee_state(new_uow: Uow, booking: str, kind: FeeKind) -> str | None:
    uow = new_uow()
    async with uow:
        record = await uow.session.get(FeeRecord, fee_id(booking, kind))
        return record.state if record else None


async def test_a_late_cancel_with_a_membership_is_charged_and_invoiced_once(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = await with_membership(new_uow, payments, stripe_api_base)
    booking = await booked(new_uow, buyer)
    for _ in range(2):
        await report(new_uow, payments, fees.LATE_CANCELLED, booking, f"users/{buyer.user_id}")

    with authenticated_as(buyer):
        fee_invoice, _ = await invoices.list_invoices(new_uow(), uuid.UUID(buyer.user_id), 0, 10)
    assert [(i.description_key, i.net_minor, i.vat_minor) for i in fee_invoice.lines] == [
        ("line.late_cancel_fee", 5_000, 750)
    ]
    assert await fee_state(new_uow, booking, FeeKind.LATE_CANCEL) == "paid"
    charged = [
        i
        for i in payment_intents(stripe_api_base)
        if i.get("metadata", {}).get("fee", "").startswith(f"users/{buyer.user_id}/fees/")
    ]
    assert [i["amount"] for i in charged] == [5_750]


async def test_a_class_pack_pays_with_its_credit_not_a_fee(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = member()
    await buy(
        new_uow, payments, buyer, await a_plan(new_uow), tokenized_card(stripe_api_base, CARD_OK)
    )
    booking = await booked(new_uow, buyer)
    await report(new_uow, payments, fees.NO_SHOW, booking, f"users/{buyer.user_id}")

    assert await fee_state(new_uow, booking, FeeKind.NO_SHOW) is None
    with authenticated_as(buyer):
        assert len(await invoices.list_invoices(new_uow(), uuid.UUID(buyer.user_id), 0, 10)) == 1


async def test_a_declined_card_leaves_the_no_show_fee_unpaid_and_uninvoiced(
    new_uow: Uow, payments: StripePayments, stripe_api_base: str
) -> None:
    buyer = await with_membership(new_uow, payments, stripe_api_base)
    with authenticated_as(buyer):
        (subscription,) = await subscriptions.list_subscriptions(
            new_uow(), uuid.UUID(buyer.user_id), 0, 10
        )
        await subscriptions.change_payment_method(
            new_uow(),
            payments,
            ChangePaymentMethod(
                subscription.member_id,
                subscription.id,
                tokenized_card(stripe_api_base, CARD_FAILS_LATER),
            ),
        )
    booking = await booked(new_uow, buyer)
    await report(new_uow, payments, fees.NO_SHOW, booking, f"users/{buyer.user_id}")

    assert await fee_state(new_uow, booking, FeeKind.NO_SHOW) == "unpaid"
    with authenticated_as(buyer):
        assert len(await invoices.list_invoices(new_uow(), uuid.UUID(buyer.user_id), 0, 10)) == 1


async def test_only_the_studio_s_managers_set_fees_and_within_bounds(new_uow: Uow) -> None:
    with authenticated_as(member()), pytest.raises(PermissionDenied):
        await fees.update_fees(new_uow(), UpdateFees(STUDIO, "SAR", 1, 1, 1500))
    with authenticated_as(MANAGER), pytest.raises(InvalidArgument) as refused:
        await fees.update_fees(new_uow(), UpdateFees(STUDIO, "XXX", -1, 10_000_000, 1500))
    assert {v.field for v in refused.value.violations} == {
        "fees.late_cancel_fee.currency_code",
        "fees.late_cancel_fee.amount_minor",
        "fees.no_show_fee.amount_minor",
    }
    with authenticated_as(member()):
        prices = await fees.get_fees(new_uow(), STUDIO)
    assert (prices.late_cancel_minor, prices.no_show_minor) == (5_000, 10_000)


async def test_an_update_changes_only_the_fees_it_names(new_uow: Uow) -> None:
    with authenticated_as(MANAGER):
        no_show = await fees.update_fees(new_uow(), UpdateFees(STUDIO, None, None, 20_000, None))
        vat = await fees.update_fees(new_uow(), UpdateFees(STUDIO, None, None, None, 500))
        with pytest.raises(InvalidArgument) as other_currency:
            await fees.update_fees(new_uow(), UpdateFees(STUDIO, "USD", 2_000, None, None))
        both_moved = await fees.update_fees(new_uow(), UpdateFees(STUDIO, "USD", 2_000, 0, None))

    assert (no_show.late_cancel_minor, no_show.no_show_minor) == (5_000, 20_000)
    assert (vat.late_cancel_minor, vat.no_show_minor, vat.vat_rate_basis_points) == (
        5_000,
        20_000,
        500,
    )
    # The no-show fee would be left in riyals while the late-cancel fee moves to dollars.
    assert [v.field for v in other_currency.value.violations] == ["fees.no_show_fee.currency_code"]
    assert (both_moved.currency, both_moved.late_cancel_minor, both_moved.no_show_minor) == (
        "USD",
        2_000,
        0,
    )
