"""A member's say over their data: consent for health data, and deleting it all on purpose.

Heart rate, location and sleep are health data (GDPR art. 9; Saudi PDPL "health data"): taken
in and shown only while the member consents to each, which they give explicitly (off until
then). Deleting everything takes two steps, the second carrying a token from the first, so no
single request (a mistaken tap, a replayed link) can wipe a member's history."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

CONSENT_PARTS = ("heart_rate", "location", "sleep")
DELETION_TTL = timedelta(minutes=10)


class HealthData(enum.Enum):
    HEART_RATE = "heart_rate"
    LOCATION = "location"
    SLEEP = "sleep"


@dataclass(frozen=True)
class Consent:
    member_id: uuid.UUID
    heart_rate: bool = False
    location: bool = False
    sleep: bool = False
    update_time: datetime | None = None

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/dataConsent"

    def allows(self, data: HealthData) -> bool:
        return bool(getattr(self, data.value))


@dataclass(frozen=True)
class PendingDeletion:
    member_id: uuid.UUID
    token_digest: bytes
    expire_time: datetime

    def confirmed_by(self, token: str, now: datetime) -> bool:
        return now < self.expire_time and hmac.compare_digest(_digest(token), self.token_digest)


def new_deletion(member_id: uuid.UUID, now: datetime) -> tuple[str, PendingDeletion]:
    """A confirmation token (shown once) and what is kept of it: its digest."""
    token = secrets.token_urlsafe(24)
    return token, PendingDeletion(member_id, _digest(token), now + DELETION_TTL)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
