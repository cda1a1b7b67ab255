"""What support staff see of sending: every delivery of a notification with its log of
attempts, the dead letters (deliveries that failed for good), and putting one back in line."""

from __future__ import annotations

import uuid

from stride.notifications import translations  # noqa: F401 - registers the texts.
from stride.notifications.adapters.delivery_log_repository import DeliveryFilter
from stride.notifications.domain.notifications import DeliveryStatus, redriven
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import require_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import NotFound


async def list_deliveries(
    uow: NotificationsUnitOfWork, matching: DeliveryFilter, offset: int, limit: int
) -> list[DeliveryStatus]:
    require_role("admin")
    async with uow:
        return await uow.deliveries.statuses(matching, offset, limit)


async def retry_delivery(
    uow: NotificationsUnitOfWork,
    user_id: uuid.UUID,
    notification_id: uuid.UUID,
    target: str,
    clock: Clock = utcnow,
) -> DeliveryStatus:
    """A dead letter back in line with fresh retries; the senders pick it up when due."""
    require_role("admin")
    async with uow:
        found = await uow.deliveries.statuses(
            DeliveryFilter(user_id=user_id, notification_id=notification_id, target=target), 0, 1
        )
        if not found:
            raise NotFound("DELIVERY_NOT_FOUND", "delivery.not_found")
        now = clock()
        again = redriven(found[0], now)
        await uow.deliveries.save(again, now)
        await uow.commit()
    return again
