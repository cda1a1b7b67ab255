"""Billing service process: `python -m stride.billing.main` (settings from STRIDE_* env)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from stride.billing.adapters.receipt_pdf import bundled_font
from stride.billing.adapters.scheduling_bookings import SchedulingBookings
from stride.billing.adapters.stripe_payments import StripePayments, StripeWebhooks
from stride.billing.adapters.tabby_financing import TabbyFinancing
from stride.billing.config import BillingSettings
from stride.billing.entrypoints.grpc_servicer import BillingServicer
from stride.billing.service_layer import fees, handlers, purchases, subscriptions
from stride.billing.service_layer.reconciliation import reconcile_holds
from stride.billing.service_layer.unit_of_work import SOURCE, BillingUnitOfWork
from stride.billing.v1 import billing_service_pb2_grpc as pb_grpc
from stride.platform.grpc.server import GrpcApp, Hook, ServiceRegistration
from stride.platform.service import foundation, run_service, service_credentials
from stride.platform.tasks import Periodic

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
SERVICE_NAME = "stride.billing.v1.BillingService"


async def renew_subscriptions(
    new_uow: partial[BillingUnitOfWork], payments: StripePayments
) -> None:
    await subscriptions.renew_due(new_uow, payments)


async def complete_refunds(
    new_uow: partial[BillingUnitOfWork],
    payments: StripePayments,
    financing_provider: TabbyFinancing | None,
) -> None:
    await purchases.complete_refunds(new_uow, payments, financing_provider)


async def collect_fees(new_uow: partial[BillingUnitOfWork], payments: StripePayments) -> None:
    await fees.collect_fees(new_uow, payments)


def hold_reconciler(
    settings: BillingSettings, new_uow: partial[BillingUnitOfWork]
) -> tuple[list[Hook], list[Hook]]:
    """(start, stop) hooks of the periodic reconciler, if Scheduling is there to ask."""
    if settings.scheduling_target is None:
        return [], []
    bookings = SchedulingBookings(settings.scheduling_target, service_credentials(settings))
    job = Periodic(
        "reconcile-holds",
        settings.reconcile_holds_every_seconds,
        partial(reconcile_holds, new_uow, bookings),
    )
    return [bookings.start, job.start], [job.stop, bookings.stop]


def financing(settings: BillingSettings) -> TabbyFinancing | None:
    if settings.financing_api_base is None:
        return None
    return TabbyFinancing(
        settings.financing_api_base,
        settings.financing_secret_key.get_secret_value(),
        settings.financing_merchant_code,
        settings.financing_return_url,
    )


async def build_app(settings: BillingSettings) -> GrpcApp:
    base = foundation(settings, SOURCE, MIGRATIONS)
    new_uow = partial(BillingUnitOfWork, base.sessions)
    releases = base.consumer(
        new_uow,
        handlers.release_for_cancelled_booking,
        source="scheduling",
        event_type="scheduling.booking.cancelled.v1",
        durable_name="billing-release-on-cancel",
    )
    payments = StripePayments(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base)
    financing_provider = financing(settings)
    fee_consumers = [
        base.consumer(
            new_uow,
            fees.record_fee,
            source="scheduling",
            event_type=event_type,
            durable_name=f"billing-fees-{event_type.split('.')[2]}",
        )
        for event_type in (fees.LATE_CANCELLED, fees.NO_SHOW)
    ]
    renewer = Periodic(
        "renew-subscriptions",
        settings.renew_every_seconds,
        partial(renew_subscriptions, new_uow, payments),
    )
    refunder = Periodic(
        "complete-refunds",
        settings.renew_every_seconds,
        partial(complete_refunds, new_uow, payments, financing_provider),
    )
    fee_collector = Periodic(
        "collect-fees",
        settings.collect_fees_every_seconds,
        partial(collect_fees, new_uow, payments),
    )
    reconciler_start, reconciler_stop = hold_reconciler(settings, new_uow)
    return GrpcApp(
        settings=settings,
        services=[
            ServiceRegistration(
                SERVICE_NAME,
                pb_grpc.add_BillingServiceServicer_to_server,
                BillingServicer(
                    new_uow,
                    payments,
                    financing_provider,
                    StripeWebhooks(
                        settings.stripe_webhook_secret.get_secret_value(),
                        settings.stripe_webhook_tolerance_seconds,
                    ),
                    settings.receipt_font or bundled_font(),
                ),
            )
        ],
        on_start=[
            *base.on_start,
            releases.start,
            *(consumer.start for consumer in fee_consumers),
            renewer.start,
            refunder.start,
            fee_collector.start,
            *reconciler_start,
        ],
        on_stop=[
            payments.close,  # Last: the hooks run in reverse, and the renewer charges till then.
            *base.on_stop,
            releases.stop,
            *(consumer.stop for consumer in fee_consumers),
            renewer.stop,
            refunder.stop,
            fee_collector.stop,
            *reconciler_stop,
        ],
    )


def main() -> None:
    run_service(BillingSettings, build_app)


if __name__ == "__main__":
    main()
