"""The worker side of the webhooks' queue: each job a provider change, applied by the use case."""

from __future__ import annotations

from stride.activity.adapters.change_queue import decode_change
from stride.activity.service_layer import providers
from stride.activity.service_layer.health import HealthPolicy
from stride.activity.service_layer.ports import Providers
from stride.activity.service_layer.providers import NewUnitOfWork
from stride.platform.clock import Clock, utcnow
from stride.platform.events.work_queue import JobHandler


def import_changes(
    new_uow: NewUnitOfWork,
    configured: Providers,
    health_policy: HealthPolicy,
    clock: Clock = utcnow,
) -> JobHandler:
    async def handle(job: bytes) -> None:
        change = decode_change(job)
        await providers.apply_change(new_uow, configured, change, health_policy, clock)

    return handle
