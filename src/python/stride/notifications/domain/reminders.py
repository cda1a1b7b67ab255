"""Class reminders, as pure rules: one per booking, some hours before its class starts.

A cancelled booking (or a cancelled class, which cancels its bookings) cancels the reminder; a
rescheduled class moves it, and re-arms one already sent for the old time. A reminder whose
class has started by the time it would go is not sent at all.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

REMINDER_LEAD = timedelta(hours=2)


class ReminderState(enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Reminder:
    booking: str  # `users/{user}/bookings/{booking}`: one reminder per booking.
    user_id: uuid.UUID
    class_session: str  # `studios/{studio}/classSessions/{class_session}`
    class_start: datetime
    state: ReminderState = ReminderState.PENDING

    @property
    def remind_at(self) -> datetime:
        return self.class_start - REMINDER_LEAD

    @property
    def event_id(self) -> str:
        """What makes the reminder one notification: the booking and the class time, so a
        rescheduled class reminds again."""
        return f"reminder/{self.booking}/{self.class_start.isoformat()}"
