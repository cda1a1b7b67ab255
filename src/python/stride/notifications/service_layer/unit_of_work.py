"""Notifications' unit of work: the platform's, with Notifications' repository."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stride.notifications.adapters.campaign_repository import CampaignRepository
from stride.notifications.adapters.delivery_log_repository import DeliveryLogRepository
from stride.notifications.adapters.email_repository import EmailRepository
from stride.notifications.adapters.reminder_repository import ReminderRepository
from stride.notifications.adapters.repository import NotificationRepository
from stride.notifications.adapters.send_limit_repository import (
    PhoneCodeRepository,
    SendCountRepository,
)
from stride.notifications.adapters.text_message_repository import TextMessageRepository
from stride.notifications.domain.limits import SendLimits
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.db.uow import UnitOfWork

SOURCE = "notifications"


class NotificationsUnitOfWork(UnitOfWork):
    notifications: NotificationRepository
    emails: EmailRepository
    reminders: ReminderRepository
    campaigns: CampaignRepository
    deliveries: DeliveryLogRepository
    texts: TextMessageRepository
    send_counts: SendCountRepository
    phone_codes: PhoneCodeRepository

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        data_keys: DataKeyring,
        limits: SendLimits | None = None,
    ) -> None:
        super().__init__(sessions, SOURCE)
        self.data_keys = data_keys  # Email bodies are sealed with them.
        # What members can make it send (texts, codes, account emails), from the settings:
        # every use case that sends on a member's say-so reads them here.
        self.limits = limits or SendLimits()

    def _open_repositories(self, session: AsyncSession) -> None:
        self.notifications = NotificationRepository(session)
        self.emails = EmailRepository(session, self.data_keys)
        self.reminders = ReminderRepository(session)
        self.campaigns = CampaignRepository(session, self.data_keys)
        self.deliveries = DeliveryLogRepository(session)
        self.texts = TextMessageRepository(session)
        self.send_counts = SendCountRepository(session)
        self.phone_codes = PhoneCodeRepository(session)
