"""BillingService over gRPC: proto → use case → proto."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
from google.api import httpbody_pb2
from google.protobuf import empty_pb2

from stride.billing import messages  # noqa: F401 - registers Billing's texts.
from stride.billing.adapters.receipt_pdf import receipt_pdf
from stride.billing.domain.entitlements import Entitlement, Hold, HoldState, Kind
from stride.billing.domain.fees import StudioFees
from stride.billing.domain.invoices import Invoice
from stride.billing.domain.money import Quote
from stride.billing.domain.plans import Plan, PlanKind, parse_plan_name
from stride.billing.domain.purchases import Purchase, PurchaseState, Refund, plan_total
from stride.billing.domain.subscriptions import (
    Subscription,
    SubscriptionState,
    is_recurring,
    subscription_id,
)
from stride.billing.service_layer import (
    fees,
    handlers,
    invoices,
    plans,
    purchases,
    subscriptions,
)
from stride.billing.service_layer.payments import (
    FinancingProvider,
    PaymentProvider,
    WebhookVerifier,
    list_payment_methods,
)
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.billing.v1 import billing_service_pb2 as pb
from stride.billing.v1 import billing_service_pb2_grpc as pb_grpc
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import timestamp
from stride.platform.i18n import CATALOG, current_locale
from stride.platform.idempotency import idempotent
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_resource_name, parse_user_name, parse_uuid_ids

GRANT_METHOD = "/stride.billing.v1.BillingService/GrantEntitlement"
# Envoy passes the webhook's HTTP headers on as gRPC metadata, lower-cased.
STRIPE_SIGNATURE_HEADER = "stripe-signature"
_KINDS = {
    pb.Entitlement.KIND_MEMBERSHIP: Kind.MEMBERSHIP,
    pb.Entitlement.KIND_CLASS_PACK: Kind.CLASS_PACK,
}


def entitlement_to_proto(entitlement: Entitlement) -> pb.Entitlement:
    kind = next(proto for proto, kind in _KINDS.items() if kind is entitlement.kind)
    return pb.Entitlement(
        name=entitlement.resource_name,
        kind=kind,
        studio=entitlement.studio,
        credits_total=entitlement.credits_total,
        credits_remaining=entitlement.credits_remaining,
        start_time=timestamp(entitlement.start),
        expire_time=timestamp(entitlement.expire),
    )


def hold_to_proto(hold: Hold) -> pb.Hold:
    return pb.Hold(
        name=hold.resource_name,
        booking=hold.booking,
        studio=hold.studio,
        class_start_time=timestamp(hold.class_start),
        entitlement=f"users/{hold.member_id}/entitlements/{hold.entitlement_id}",
        state=pb.Hold.STATE_HELD if hold.state is HoldState.HELD else pb.Hold.STATE_RELEASED,
    )


_PLAN_KINDS = {
    pb.Plan.KIND_MONTHLY_MEMBERSHIP: PlanKind.MONTHLY_MEMBERSHIP,
    pb.Plan.KIND_ANNUAL_MEMBERSHIP: PlanKind.ANNUAL_MEMBERSHIP,
    pb.Plan.KIND_CLASS_PACK: PlanKind.CLASS_PACK,
}


def plan_to_proto(plan: Plan) -> pb.Plan:
    kind = next(proto for proto, kind in _PLAN_KINDS.items() if kind is plan.kind)
    proto = pb.Plan(
        name=plan.resource_name,
        display_name_en=plan.display_name_en,
        display_name_ar=plan.display_name_ar,
        kind=kind,
        price=pb.Money(currency_code=plan.currency, amount_minor=plan.price_minor),
        vat_rate_basis_points=plan.vat_rate_basis_points,
        credits=plan.credits,
        valid_days=plan.valid_days,
        commitment_periods=plan.commitment_periods,
        trial_days=plan.trial_days,
    )
    if plan.intro_price_minor is not None:
        proto.intro_price.CopyFrom(
            pb.Money(currency_code=plan.currency, amount_minor=plan.intro_price_minor)
        )
    if plan.add_on_price_minor is not None:
        proto.add_on_price.CopyFrom(
            pb.Money(currency_code=plan.currency, amount_minor=plan.add_on_price_minor)
        )
    return proto


def quote_to_proto(quote: Quote) -> pb.Quote:
    def money(amount: int) -> pb.Money:
        return pb.Money(currency_code=quote.currency, amount_minor=amount)

    return pb.Quote(
        lines=[
            pb.QuoteLine(
                description=CATALOG.translate(item.description_key, current_locale()),
                net=money(item.net_minor),
                vat=money(item.vat_minor),
                total=money(item.total_minor),
            )
            for item in quote.lines
        ],
        net=money(quote.net_minor),
        vat=money(quote.vat_minor),
        total=money(quote.total_minor),
    )


def _subscription_name(name: str) -> tuple[uuid.UUID, uuid.UUID]:
    member_id, subscription = parse_uuid_ids(
        name,
        ("users", "subscriptions"),
        field="name",
        message_key="subscription.invalid_name",
    )
    return member_id, subscription


def _studio(name: str) -> str:
    (slug,) = parse_resource_name(
        name, ("studios",), field="parent", message_key="studio.invalid_name"
    )
    return slug


_PURCHASE_STATES = {
    PurchaseState.PROCESSING: pb.Purchase.STATE_PROCESSING,
    PurchaseState.REQUIRES_ACTION: pb.Purchase.STATE_REQUIRES_ACTION,
    PurchaseState.FAILED: pb.Purchase.STATE_FAILED,
    PurchaseState.SUCCEEDED: pb.Purchase.STATE_SUCCEEDED,
}


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


_SUBSCRIPTION_STATES = {
    SubscriptionState.TRIALING: pb.Subscription.STATE_TRIALING,
    SubscriptionState.ACTIVE: pb.Subscription.STATE_ACTIVE,
    SubscriptionState.PAST_DUE: pb.Subscription.STATE_PAST_DUE,
    SubscriptionState.CANCELLED: pb.Subscription.STATE_CANCELLED,
    SubscriptionState.PAUSED: pb.Subscription.STATE_PAUSED,
    SubscriptionState.SUSPENDED: pb.Subscription.STATE_SUSPENDED,
}


def subscription_to_proto(subscription: Subscription) -> pb.Subscription:
    plan = subscription.plan
    proto = pb.Subscription(
        name=subscription.resource_name,
        plan=plan.resource_name,
        state=_SUBSCRIPTION_STATES[subscription.state_at(datetime.now(UTC))],
        current_period_start_time=timestamp(subscription.period_start),
        current_period_end_time=timestamp(subscription.period_end),
        cancel_at_period_end=subscription.cancel_at_period_end,
        failed_renewals=subscription.failed_attempts,
        entitlement=f"users/{subscription.member_id}/entitlements/{subscription.entitlement_id}",
        price=pb.Money(currency_code=plan.currency, amount_minor=plan_total(plan)),
        pending_plan=subscription.pending_plan.resource_name if subscription.pending_plan else "",
        add_on_members=[f"users/{add_on.member_id}" for add_on in subscription.add_ons],
    )
    if subscription.next_attempt is not None:
        proto.next_renewal_time.CopyFrom(timestamp(subscription.next_attempt))
    if subscription.cancelled is not None:
        proto.cancel_time.CopyFrom(timestamp(subscription.cancelled))
    if subscription.pause_start is not None and subscription.pause_end is not None:
        proto.pause_start_time.CopyFrom(timestamp(subscription.pause_start))
        proto.pause_end_time.CopyFrom(timestamp(subscription.pause_end))
    if subscription.committed_until is not None:
        proto.commitment_end_time.CopyFrom(timestamp(subscription.committed_until))
    if subscription.trial_end is not None:
        proto.trial_end_time.CopyFrom(timestamp(subscription.trial_end))
    return proto


def invoice_to_proto(invoice: Invoice) -> pb.Invoice:
    def money(amount: int) -> pb.Money:
        return pb.Money(currency_code=invoice.currency, amount_minor=amount)

    return pb.Invoice(
        name=invoice.resource_name,
        number=invoice.display_number,
        studio=f"studios/{invoice.studio}",
        issue_time=timestamp(invoice.issued),
        lines=[
            pb.QuoteLine(
                description=CATALOG.translate(item.description_key, current_locale()),
                net=money(item.net_minor),
                vat=money(item.vat_minor),
                total=money(item.total_minor),
            )
            for item in invoice.lines
        ],
        net=money(invoice.net_minor),
        vat=money(invoice.vat_minor),
        total=money(invoice.total_minor),
        source=invoice.source,
    )


def fees_to_proto(prices: StudioFees) -> pb.StudioFees:
    return pb.StudioFees(
        name=prices.resource_name,
        late_cancel_fee=pb.Money(
            currency_code=prices.currency, amount_minor=prices.late_cancel_minor
        ),
        no_show_fee=pb.Money(currency_code=prices.currency, amount_minor=prices.no_show_minor),
        vat_rate_basis_points=prices.vat_rate_basis_points,
    )


def _fees_studio(name: str, field: str) -> str:
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "studios" or parts[2] != "fees" or not parts[1]:
        raise InvalidArgument([FieldViolation(field, "fees.invalid_name")])
    return parts[1]


def refund_to_proto(refund: Refund, purchase: Purchase) -> pb.Refund:
    return pb.Refund(
        name=refund.resource_name,
        amount=pb.Money(currency_code=refund.currency, amount_minor=refund.amount_minor),
        reason=refund.reason,
        refunded_by=f"users/{refund.refunded_by}",
        create_time=timestamp(refund.created),
        purchase=purchase_to_proto(purchase),
    )


class BillingServicer(pb_grpc.BillingServiceServicer):
    def __init__(
        self,
        unit_of_work: Callable[[], BillingUnitOfWork],
        payments: PaymentProvider,
        financing: FinancingProvider | None,
        webhooks: WebhookVerifier,
        receipt_font: Path,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._payments = payments
        self._financing = financing
        self._webhooks = webhooks
        self._receipt_font = receipt_font

    async def CreatePlan(  # noqa: N802 - generated gRPC method name.
        self, request: pb.CreatePlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.Plan:
        given = request.plan
        plan = await plans.create_plan(
            self._unit_of_work(),
            _studio(request.parent),
            given.display_name_en,
            given.display_name_ar,
            _PLAN_KINDS.get(given.kind),
            given.price.currency_code,
            given.price.amount_minor,
            given.vat_rate_basis_points,
            given.credits,
            given.valid_days,
            intro_price_minor=(
                given.intro_price.amount_minor if given.HasField("intro_price") else None
            ),
            commitment_periods=given.commitment_periods,
            trial_days=given.trial_days,
            add_on_price_minor=(
                given.add_on_price.amount_minor if given.HasField("add_on_price") else None
            ),
        )
        return plan_to_proto(plan)

    async def ListPlans(  # noqa: N802
        self, request: pb.ListPlansRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPlansResponse:
        page = Page.from_request(request.page_size, request.page_token)
        fetched = await plans.list_plans(
            self._unit_of_work(), _studio(request.parent), page.offset, page.fetch_limit
        )
        found, next_page_token = page.cut(fetched)
        return pb.ListPlansResponse(
            plans=[plan_to_proto(p) for p in found], next_page_token=next_page_token
        )

    async def QuotePlanChange(  # noqa: N802
        self, request: pb.QuotePlanChangeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Quote:
        studio, to_plan = parse_plan_name(request.to_plan, "to_plan")
        from_studio, from_plan = parse_plan_name(request.from_plan, "from_plan")
        missing = [
            FieldViolation(field, "field.required")
            for field in ("period_start_time", "period_end_time")
            if not request.HasField(field)  # type: ignore[arg-type]
        ]
        if from_studio != studio:
            missing.append(FieldViolation("from_plan", "field.other_studio"))
        if missing:
            raise InvalidArgument(missing)
        quote = await plans.quote_plan_change(
            self._unit_of_work(),
            studio,
            from_plan,
            to_plan,
            request.period_start_time.ToDatetime(tzinfo=UTC),
            request.period_end_time.ToDatetime(tzinfo=UTC),
            request.change_time.ToDatetime(tzinfo=UTC) if request.HasField("change_time") else None,
        )
        return quote_to_proto(quote)

    async def GrantEntitlement(  # noqa: N802
        self, request: pb.GrantEntitlementRequest, context: grpc.aio.ServicerContext
    ) -> pb.Entitlement:
        member_id = parse_user_name(request.parent, "parent")
        given = request.entitlement
        if not given.HasField("expire_time"):
            raise InvalidArgument([FieldViolation("entitlement.expire_time", "field.required")])
        start = given.start_time.ToDatetime(tzinfo=UTC) if given.HasField("start_time") else None
        uow = self._unit_of_work()

        async def grant() -> pb.Entitlement:
            entitlement = await handlers.grant(
                uow,
                member_id,
                _KINDS.get(given.kind),
                given.studio,
                given.credits_total,
                start,
                given.expire_time.ToDatetime(tzinfo=UTC),
                request.reason,
            )
            return entitlement_to_proto(entitlement)

        return await idempotent(
            uow, GRANT_METHOD, request, request.request_id, grant, pb.Entitlement
        )

    async def ListEntitlements(  # noqa: N802
        self, request: pb.ListEntitlementsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEntitlementsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.from_request(request.page_size, request.page_token)
        fetched = await handlers.list_entitlements(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        entitlements, next_page_token = page.cut(fetched)
        return pb.ListEntitlementsResponse(
            entitlements=[entitlement_to_proto(e) for e in entitlements],
            next_page_token=next_page_token,
        )

    async def HoldCredit(  # noqa: N802
        self, request: pb.HoldCreditRequest, context: grpc.aio.ServicerContext
    ) -> pb.Hold:
        member_id = parse_user_name(request.parent, "parent")
        given = request.hold
        booking_member, booking_id = parse_uuid_ids(
            given.booking,
            ("users", "bookings"),
            field="hold.booking",
            message_key="booking.invalid_name",
        )
        violations = []
        if booking_member != member_id:
            violations.append(FieldViolation("hold.booking", "booking.invalid_name"))
        if not given.studio:
            violations.append(FieldViolation("hold.studio", "field.required"))
        if not given.HasField("class_start_time"):
            violations.append(FieldViolation("hold.class_start_time", "field.required"))
        if violations:
            raise InvalidArgument(violations)
        hold = await handlers.hold_credit(
            self._unit_of_work(),
            member_id,
            given.booking,
            booking_id,
            given.studio,
            given.class_start_time.ToDatetime(tzinfo=UTC),
        )
        return hold_to_proto(hold)

    async def ReleaseHold(  # noqa: N802
        self, request: pb.ReleaseHoldRequest, context: grpc.aio.ServicerContext
    ) -> pb.Hold:
        member_id, hold_id = parse_uuid_ids(
            request.name, ("users", "holds"), field="name", message_key="hold.invalid_name"
        )
        return hold_to_proto(await handlers.release_hold(self._unit_of_work(), member_id, hold_id))

    async def PurchasePlan(  # noqa: N802
        self, request: pb.PurchasePlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.Purchase:
        member_id = parse_user_name(request.parent, "parent")
        studio, plan_id = parse_plan_name(request.plan, "plan")
        purchase, client_secret = await purchases.purchase_plan(
            self._unit_of_work(),
            self._payments,
            member_id,
            studio,
            plan_id,
            request.payment_method,
            request.request_id,
        )
        return purchase_to_proto(purchase, client_secret)

    async def FinancePlan(  # noqa: N802
        self, request: pb.FinancePlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.Purchase:
        member_id = parse_user_name(request.parent, "parent")
        studio, plan_id = parse_plan_name(request.plan, "plan")
        purchase = await purchases.finance_plan(
            self._unit_of_work(),
            self._financing,
            member_id,
            studio,
            plan_id,
            request.provider,
            request.buyer_email,
            request.request_id,
        )
        return purchase_to_proto(purchase)

    async def ConfirmFinancing(  # noqa: N802
        self, request: pb.ConfirmFinancingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Purchase:
        member_id, purchase_id = parse_uuid_ids(
            request.name,
            ("users", "purchases"),
            field="name",
            message_key="purchase.invalid_name",
        )
        purchase = await purchases.confirm_financing(
            self._unit_of_work(), self._financing, member_id, purchase_id
        )
        return purchase_to_proto(purchase)

    async def GetPurchase(  # noqa: N802
        self, request: pb.GetPurchaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.Purchase:
        member_id, purchase_id = parse_uuid_ids(
            request.name,
            ("users", "purchases"),
            field="name",
            message_key="purchase.invalid_name",
        )
        purchase = await purchases.get_purchase(self._unit_of_work(), member_id, purchase_id)
        return purchase_to_proto(purchase)

    async def ListSubscriptions(  # noqa: N802
        self, request: pb.ListSubscriptionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSubscriptionsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.from_request(request.page_size, request.page_token)
        fetched = await subscriptions.list_subscriptions(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        found, next_page_token = page.cut(fetched)
        return pb.ListSubscriptionsResponse(
            subscriptions=[subscription_to_proto(s) for s in found],
            next_page_token=next_page_token,
        )

    async def CancelSubscription(  # noqa: N802
        self, request: pb.CancelSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        member_id, subscription = _subscription_name(request.name)
        cancelled = await subscriptions.cancel_subscription(
            self._unit_of_work(), member_id, subscription, request.at_period_end
        )
        return subscription_to_proto(cancelled)

    async def PauseSubscription(  # noqa: N802
        self, request: pb.PauseSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        member_id, subscription = _subscription_name(request.name)
        missing = [
            FieldViolation(field, "field.required")
            for field in ("start_time", "end_time")
            if not request.HasField(field)  # type: ignore[arg-type]
        ]
        if missing:
            raise InvalidArgument(missing)
        frozen = await subscriptions.pause_subscription(
            self._unit_of_work(),
            member_id,
            subscription,
            request.start_time.ToDatetime(tzinfo=UTC),
            request.end_time.ToDatetime(tzinfo=UTC),
        )
        return subscription_to_proto(frozen)

    async def ChangeSubscriptionPlan(  # noqa: N802
        self, request: pb.ChangeSubscriptionPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        member_id, subscription = _subscription_name(request.name)
        studio, plan_id = parse_plan_name(request.plan, "plan")
        changed = await subscriptions.change_plan(
            self._unit_of_work(),
            self._payments,
            member_id,
            subscription,
            studio,
            plan_id,
            request.request_id,
        )
        return subscription_to_proto(changed)

    async def AddSubscriptionMember(  # noqa: N802
        self, request: pb.AddSubscriptionMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        holder_id, subscription = _subscription_name(request.name)
        changed = await subscriptions.add_family_member(
            self._unit_of_work(),
            self._payments,
            holder_id,
            subscription,
            parse_user_name(request.member, "member"),
            request.request_id,
        )
        return subscription_to_proto(changed)

    async def RemoveSubscriptionMember(  # noqa: N802
        self, request: pb.RemoveSubscriptionMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        holder_id, subscription = _subscription_name(request.name)
        changed = await subscriptions.remove_family_member(
            self._unit_of_work(), holder_id, subscription, parse_user_name(request.member, "member")
        )
        return subscription_to_proto(changed)

    async def ChangeSubscriptionPaymentMethod(  # noqa: N802
        self,
        request: pb.ChangeSubscriptionPaymentMethodRequest,
        context: grpc.aio.ServicerContext,
    ) -> pb.Subscription:
        member_id, subscription = _subscription_name(request.name)
        changed = await subscriptions.change_payment_method(
            self._unit_of_work(), self._payments, member_id, subscription, request.payment_method
        )
        return subscription_to_proto(changed)

    async def ListInvoices(  # noqa: N802
        self, request: pb.ListInvoicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInvoicesResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.from_request(request.page_size, request.page_token)
        fetched = await invoices.list_invoices(
            self._unit_of_work(), member_id, page.offset, page.fetch_limit
        )
        found, next_page_token = page.cut(fetched)
        return pb.ListInvoicesResponse(
            invoices=[invoice_to_proto(i) for i in found], next_page_token=next_page_token
        )

    async def GetInvoiceReceipt(  # noqa: N802
        self, request: pb.GetInvoiceReceiptRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        member_id, invoice_id = parse_uuid_ids(
            request.name, ("users", "invoices"), field="name", message_key="invoice.invalid_name"
        )
        invoice = await invoices.get_invoice(self._unit_of_work(), member_id, invoice_id)
        receipt = invoices.receipt_text(invoice, current_locale())
        if request.format == pb.GetInvoiceReceiptRequest.FORMAT_PDF:
            document = await asyncio.to_thread(
                receipt_pdf, receipt, self._receipt_font, invoice.issued
            )
            return httpbody_pb2.HttpBody(content_type="application/pdf", data=document)
        page = invoices.receipt_html(receipt)
        return httpbody_pb2.HttpBody(content_type="text/html; charset=utf-8", data=page.encode())

    async def ListPaymentMethods(  # noqa: N802
        self, request: pb.ListPaymentMethodsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPaymentMethodsResponse:
        member_id = parse_user_name(request.parent, "parent")
        cards = await list_payment_methods(self._unit_of_work(), self._payments, member_id)
        return pb.ListPaymentMethodsResponse(
            payment_methods=[
                pb.PaymentMethod(
                    name=f"users/{member_id}/paymentMethods/{card.payment_method}",
                    brand=card.brand,
                    last4=card.last4,
                    exp_month=card.exp_month,
                    exp_year=card.exp_year,
                )
                for card in cards
            ]
        )

    async def GetStudioFees(  # noqa: N802
        self, request: pb.GetStudioFeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.StudioFees:
        prices = await fees.get_fees(self._unit_of_work(), _fees_studio(request.name, "name"))
        return fees_to_proto(prices)

    async def UpdateStudioFees(  # noqa: N802
        self, request: pb.UpdateStudioFeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.StudioFees:
        given = request.fees
        late, no_show = given.late_cancel_fee, given.no_show_fee
        if no_show.currency_code and no_show.currency_code != late.currency_code:
            raise InvalidArgument(
                [FieldViolation("fees.no_show_fee.currency_code", "fees.one_currency")]
            )
        prices = await fees.set_fees(
            self._unit_of_work(),
            _fees_studio(given.name, "fees.name"),
            late.currency_code,
            late.amount_minor,
            no_show.amount_minor,
            given.vat_rate_basis_points,
        )
        return fees_to_proto(prices)

    async def RefundPurchase(  # noqa: N802
        self, request: pb.RefundPurchaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.Refund:
        member_id, purchase_id = parse_uuid_ids(
            request.purchase,
            ("users", "purchases"),
            field="purchase",
            message_key="purchase.invalid_name",
        )
        given = request.amount if request.HasField("amount") else None
        refund, purchase = await purchases.refund_purchase(
            self._unit_of_work(),
            self._payments,
            member_id,
            purchase_id,
            given.amount_minor if given else None,
            given.currency_code if given else None,
            request.reason,
            request.request_id,
            financing=self._financing,
        )
        return refund_to_proto(refund, purchase)

    async def ReceiveStripeEvent(  # noqa: N802
        self, request: pb.ReceiveStripeEventRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        metadata = dict(context.invocation_metadata() or ())
        await purchases.receive_stripe_event(
            self._unit_of_work(),
            self._webhooks,
            request.payload.data,
            str(metadata.get(STRIPE_SIGNATURE_HEADER, "")),
        )
        return empty_pb2.Empty()
