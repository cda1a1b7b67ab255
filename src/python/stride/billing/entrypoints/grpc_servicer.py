"""BillingService over gRPC: proto → command → use case → proto. The mapping lives in the
`*_protos` modules beside this one; errors become statuses in the platform's interceptor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import grpc
from google.api import httpbody_pb2
from google.protobuf import empty_pb2

from stride.billing import translations  # noqa: F401 - registers Billing's texts.
from stride.billing.adapters.receipt_pdf import receipt_pdf
from stride.billing.entrypoints.entitlement_protos import (
    entitlement_to_proto,
    grant_command,
    hold_command,
    hold_results_to_proto,
    hold_to_proto,
    read_hold_command,
)
from stride.billing.entrypoints.fee_protos import (
    fees_studio,
    fees_to_proto,
    update_fees_command,
)
from stride.billing.entrypoints.plan_protos import (
    create_plan_command,
    plan_to_proto,
    quote_command,
    quote_to_proto,
    studio_slug,
)
from stride.billing.entrypoints.purchase_protos import (
    card_to_proto,
    finance_command,
    invoice_to_proto,
    purchase_command,
    purchase_name,
    purchase_to_proto,
    refund_command,
    refund_to_proto,
)
from stride.billing.entrypoints.subscription_protos import (
    add_member_command,
    change_card_command,
    change_plan_command,
    pause_command,
    subscription_name,
    subscription_to_proto,
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
from stride.platform.i18n import current_locale
from stride.platform.idempotency import idempotent
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_user_name, parse_uuid_ids

GRANT_METHOD = "/stride.billing.v1.BillingService/GrantEntitlement"
# Envoy passes the webhook's HTTP headers on as gRPC metadata, lower-cased.
STRIPE_SIGNATURE_HEADER = "stripe-signature"


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
        plan = await plans.create_plan(self._unit_of_work(), create_plan_command(request))
        return plan_to_proto(plan)

    async def ListPlans(  # noqa: N802
        self, request: pb.ListPlansRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPlansResponse:
        page = Page.of(request)
        fetched = await plans.list_plans(
            self._unit_of_work(), studio_slug(request.parent), page.offset, page.fetch_limit
        )
        found, next_page_token = page.cut(fetched)
        return pb.ListPlansResponse(
            plans=[plan_to_proto(p) for p in found], next_page_token=next_page_token
        )

    async def QuotePlanChange(  # noqa: N802
        self, request: pb.QuotePlanChangeRequest, context: grpc.aio.ServicerContext
    ) -> pb.Quote:
        quote = await plans.quote_plan_change(self._unit_of_work(), quote_command(request))
        return quote_to_proto(quote)

    async def GrantEntitlement(  # noqa: N802
        self, request: pb.GrantEntitlementRequest, context: grpc.aio.ServicerContext
    ) -> pb.Entitlement:
        command = grant_command(request)
        uow = self._unit_of_work()

        async def grant() -> pb.Entitlement:
            return entitlement_to_proto(await handlers.grant(uow, command))

        return await idempotent(
            uow, GRANT_METHOD, request, request.request_id, grant, pb.Entitlement
        )

    async def ListEntitlements(  # noqa: N802
        self, request: pb.ListEntitlementsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEntitlementsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
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
        hold = await handlers.hold_credit(self._unit_of_work(), hold_command(request))
        return hold_to_proto(hold)

    async def BatchHoldCredits(  # noqa: N802
        self, request: pb.BatchHoldCreditsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchHoldCreditsResponse:
        held = await handlers.hold_credits(
            self._unit_of_work(), [read_hold_command(asked) for asked in request.requests]
        )
        return hold_results_to_proto(held, current_locale())

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
        purchase, client_secret = await purchases.purchase_plan(
            self._unit_of_work(), self._payments, purchase_command(request)
        )
        return purchase_to_proto(purchase, client_secret)

    async def FinancePlan(  # noqa: N802
        self, request: pb.FinancePlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.Purchase:
        purchase = await purchases.finance_plan(
            self._unit_of_work(), self._financing, finance_command(request)
        )
        return purchase_to_proto(purchase)

    async def ConfirmFinancing(  # noqa: N802
        self, request: pb.ConfirmFinancingRequest, context: grpc.aio.ServicerContext
    ) -> pb.Purchase:
        member_id, purchase_id = purchase_name(request.name)
        purchase = await purchases.confirm_financing(
            self._unit_of_work(), self._financing, member_id, purchase_id
        )
        return purchase_to_proto(purchase)

    async def GetPurchase(  # noqa: N802
        self, request: pb.GetPurchaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.Purchase:
        member_id, purchase_id = purchase_name(request.name)
        purchase = await purchases.get_purchase(self._unit_of_work(), member_id, purchase_id)
        return purchase_to_proto(purchase)

    async def ListSubscriptions(  # noqa: N802
        self, request: pb.ListSubscriptionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSubscriptionsResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
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
        member_id, subscription = subscription_name(request.name)
        cancelled = await subscriptions.cancel_subscription(
            self._unit_of_work(), member_id, subscription, request.at_period_end
        )
        return subscription_to_proto(cancelled)

    async def PauseSubscription(  # noqa: N802
        self, request: pb.PauseSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        frozen = await subscriptions.pause_subscription(
            self._unit_of_work(), pause_command(request)
        )
        return subscription_to_proto(frozen)

    async def ChangeSubscriptionPlan(  # noqa: N802
        self, request: pb.ChangeSubscriptionPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        changed = await subscriptions.change_plan(
            self._unit_of_work(), self._payments, change_plan_command(request)
        )
        return subscription_to_proto(changed)

    async def AddSubscriptionMember(  # noqa: N802
        self, request: pb.AddSubscriptionMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        changed = await subscriptions.add_family_member(
            self._unit_of_work(), self._payments, add_member_command(request)
        )
        return subscription_to_proto(changed)

    async def RemoveSubscriptionMember(  # noqa: N802
        self, request: pb.RemoveSubscriptionMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.Subscription:
        holder_id, subscription = subscription_name(request.name)
        changed = await subscriptions.remove_family_member(
            self._unit_of_work(), holder_id, subscription, parse_user_name(request.member, "member")
        )
        return subscription_to_proto(changed)

    async def ChangeSubscriptionPaymentMethod(  # noqa: N802
        self,
        request: pb.ChangeSubscriptionPaymentMethodRequest,
        context: grpc.aio.ServicerContext,
    ) -> pb.Subscription:
        changed = await subscriptions.change_payment_method(
            self._unit_of_work(), self._payments, change_card_command(request)
        )
        return subscription_to_proto(changed)

    async def ListInvoices(  # noqa: N802
        self, request: pb.ListInvoicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInvoicesResponse:
        member_id = parse_user_name(request.parent, "parent")
        page = Page.of(request)
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
            payment_methods=[card_to_proto(member_id, card) for card in cards]
        )

    async def GetStudioFees(  # noqa: N802
        self, request: pb.GetStudioFeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.StudioFees:
        prices = await fees.get_fees(self._unit_of_work(), fees_studio(request.name, "name"))
        return fees_to_proto(prices)

    async def UpdateStudioFees(  # noqa: N802
        self, request: pb.UpdateStudioFeesRequest, context: grpc.aio.ServicerContext
    ) -> pb.StudioFees:
        prices = await fees.update_fees(self._unit_of_work(), update_fees_command(request))
        return fees_to_proto(prices)

    async def RefundPurchase(  # noqa: N802
        self, request: pb.RefundPurchaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.Refund:
        refund, purchase = await purchases.refund_purchase(
            self._unit_of_work(), self._payments, self._financing, refund_command(request)
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
