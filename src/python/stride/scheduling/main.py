"""Scheduling service process: `python -m stride.scheduling.main` (settings from STRIDE_* env)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from stride.platform.clock import utcnow
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.events.live import LiveEvents
from stride.platform.grpc.server import GrpcApp, ServiceRegistration
from stride.platform.service import foundation, run_service, service_credentials
from stride.platform.tasks import Periodic
from stride.scheduling.adapters.billing import BillingEntitlements
from stride.scheduling.config import SchedulingSettings
from stride.scheduling.entrypoints.grpc_servicer import SchedulingServicer
from stride.scheduling.service_layer import attendance
from stride.scheduling.service_layer.attendance import CHECK_IN_KEY_PURPOSE
from stride.scheduling.service_layer.unit_of_work import SOURCE, SchedulingUnitOfWork
from stride.scheduling.v1 import scheduling_service_pb2_grpc as pb_grpc

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
SETTLE_EVERY_SECONDS = 60.0
SERVICE_NAME = "stride.scheduling.v1.SchedulingService"


async def settle_ended_classes(new_uow: partial[SchedulingUnitOfWork]) -> None:
    await attendance.settle_ended_classes(new_uow(), utcnow())


async def build_app(settings: SchedulingSettings) -> GrpcApp:
    base = foundation(settings, SOURCE, MIGRATIONS)
    new_uow = partial(SchedulingUnitOfWork, base.sessions)
    data_keys = DataKeyring.from_spec(settings.data_keys, settings.data_key_active)
    live = LiveEvents(settings.nats_url, settings.events_prefix, SOURCE)
    billing = BillingEntitlements(settings.billing_target, service_credentials(settings))
    sweeper = Periodic(
        "settle-ended-classes", SETTLE_EVERY_SECONDS, partial(settle_ended_classes, new_uow)
    )

    return GrpcApp(
        settings=settings,
        services=[
            ServiceRegistration(
                SERVICE_NAME,
                pb_grpc.add_SchedulingServiceServicer_to_server,
                SchedulingServicer(
                    new_uow, data_keys.derive_key(CHECK_IN_KEY_PURPOSE), live, billing
                ),
            )
        ],
        on_start=[*base.on_start, sweeper.start, live.start, billing.start],
        on_stop=[*base.on_stop, sweeper.stop, live.stop, billing.stop],
    )


def main() -> None:
    run_service(SchedulingSettings, build_app)


if __name__ == "__main__":
    main()
