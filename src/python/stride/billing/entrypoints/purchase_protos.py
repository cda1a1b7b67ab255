"""Purchases, refunds, invoices and saved cards between protobuf and the domain."""

from __future__ import annotations

import uuid

from stride.billing.domain.invoices import Invoice
from stride.billing.domain.payments import SavedCard
from stride.billing.domain.plans import parse_plan_name
from stride.billing.domain.purchases import Purchase, PurchaseState, Refund
from stride.billing.domain.subscriptions import is_recurring, subscription_id
from stride.billing.entrypoints.plan_protos import lines_to_proto
from stride.billing.service_layer.commands import FinancePlan, PurchasePlan, RefundPurchase
from stride.billing.v1 import billing_service_pb2 as pb
from stride.platform.grpc.timestamps import timestamp
from stride.platform.resource_names import parse_user_name, parse_uuid_ids

_PURCHASE_STATES = {
    PurchaseState.PROCESSING: pb.Purchase.STATE_PROCESSING,
    PurchaseState.REQUIRES_ACTION: pb.Purchase.STATE_REQUIRES_ACTION,
    PurchaseState.FAILED: pb.Purchase.STATE_FAILED,
    PurchaseState.SUCCEEDED: pb.Purchase.STATE_SUCCEEDED,
}


def purchase_name(name: str, field: str = "name") -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{user}/purchases/{purchase}` → (member, purchase)."""
    member_id, purchase_id = parse_uuid_ids(
        name, ("users", "purchases"), field=field, message_key="purchase.invalid_name"
    )
    return member_id, purchase_id


def purchase_to_proto(purchase: Purchase, client_secret: str = "") -> pb.Purchase:
    return pb.Purchase(
        name=purchase.resource_name,
        plan=purchase.plan.resource_name,
        amount=pb.Money(currency_code=purchase.plan.currency, amount_minor=purchase.amount_minor),
        state=_PURCHASE_STATES[purchase.state],
        client_secret=client_secret if purchase.state is PurchaseState.REQUIRES_ACTION else "",
        entitlement=(
            f"users/{purchase.member_id}/entitlements/{purchase.entitlement_id}"
            if purchase.entitlement_id
            else ""
        ),
        failure_code=purchase.failure_code,
        financing_url=purchase.financing_url,
        create_time=timestamp(purchase.created),
        refunded=pb.Money(
            currency_code=purchase.plan.currency, amount_minor=purchase.refunded_minor
        ),
        subscription=(
            f"users/{purchase.member_id}/subscriptions/{subscription_id(purchase.id)}"
            if purchase.entitlement_id and is_recurring(purchase.plan)
            else ""
        ),
    )


def refund_to_proto(refund: Refund, purchase: Purchase) -> pb.Refund:
    return pb.Refund(
        name=refund.resource_name,
        amount=pb.Money(currency_code=refund.currency, amount_minor=refund.amount_minor),
        reason=refund.reason,
        refunded_by=f"users/{refund.refunded_by}",
        create_time=timestamp(refund.created),
        purchase=purchase_to_proto(purchase),
    )


def invoice_to_proto(invoice: Invoice) -> pb.Invoice:
    currency = invoice.currency
    return pb.Invoice(
        name=invoice.resource_name,
        number=invoice.display_number,
        studio=f"studios/{invoice.studio}",
        issue_time=timestamp(invoice.issued),
        lines=lines_to_proto(currency, invoice.lines),
        net=pb.Money(currency_code=currency, amount_minor=invoice.net_minor),
        vat=pb.Money(currency_code=currency, amount_minor=invoice.vat_minor),
        total=pb.Money(currency_code=currency, amount_minor=invoice.total_minor),
        source=invoice.source,
    )


def card_to_proto(member_id: uuid.UUID, card: SavedCard) -> pb.PaymentMethod:
    return pb.PaymentMethod(
        name=f"users/{member_id}/paymentMethods/{card.payment_method}",
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
    )


def purchase_command(request: pb.PurchasePlanRequest) -> PurchasePlan:
    member_id = parse_user_name(request.parent, "parent")
    studio, plan_id = parse_plan_name(request.plan, "plan")
    return PurchasePlan(member_id, studio, plan_id, request.payment_method, request.request_id)


def finance_command(request: pb.FinancePlanRequest) -> FinancePlan:
    member_id = parse_user_name(request.parent, "parent")
    studio, plan_id = parse_plan_name(request.plan, "plan")
    return FinancePlan(
        member_id, studio, plan_id, request.provider, request.buyer_email, request.request_id
    )


def refund_command(request: pb.RefundPurchaseRequest) -> RefundPurchase:
    member_id, purchase_id = purchase_name(request.purchase, "purchase")
    given = request.amount if request.HasField("amount") else None
    return RefundPurchase(
        member_id,
        purchase_id,
        given.amount_minor if given else None,
        given.currency_code if given else None,
        request.reason,
        request.request_id,
    )
