"""Wearable providers a member connects (Strava first; Garmin and Fitbit slot in beside it): the
connection and its tokens, the authorization a member starts and completes once, the changes a
provider tells us about, and the activities imported from it."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# A started authorization is good for this long: the member approves at the provider and the
# app comes back, usually within a minute.
AUTHORIZATION_LIFETIME = timedelta(minutes=10)
# Tokens are refreshed this long before they expire, so a call never carries one that dies on
# the way.
REFRESH_MARGIN = timedelta(minutes=5)


class Provider(StrEnum):
    STRAVA = "strava"
    # Not a provider one connects: the activity files members upload (FIT, GPX, TCX).
    FILE = "file"


# The scopes a provider must grant for Stride to read every activity; any one is enough.
ACTIVITY_SCOPES: dict[Provider, frozenset[str]] = {
    Provider.STRAVA: frozenset({"activity:read_all", "activity:read"}),
}


def provider_named(slug: str) -> Provider | None:
    try:
        return Provider(slug)
    except ValueError:
        return None


class ConnectionState(StrEnum):
    CONNECTED = "connected"
    # Being revoked at the provider: no more imports; deleting it again finishes.
    DISCONNECTING = "disconnecting"


@dataclass(frozen=True)
class ProviderTokens:
    access_token: str
    refresh_token: str
    expire_time: datetime

    def expiring(self, now: datetime) -> bool:
        return now >= self.expire_time - REFRESH_MARGIN


@dataclass(frozen=True)
class Grant:
    """What a provider gives for an authorization code: the member's account there, and
    tokens."""

    account_id: str
    tokens: ProviderTokens


@dataclass(frozen=True)
class ProviderConnection:
    member_id: uuid.UUID
    provider: Provider
    account_id: str
    scopes: tuple[str, ...]
    state: ConnectionState
    create_time: datetime
    update_time: datetime

    @property
    def resource_name(self) -> str:
        return connection_name(self.member_id, self.provider)


def connection_name(member_id: uuid.UUID, provider: Provider) -> str:
    return f"users/{member_id}/providerConnections/{provider.value}"


def granted_scopes(scope: str) -> tuple[str, ...]:
    """Strava's `scope` redirect parameter (`read,activity:read_all`) as a sorted tuple."""
    return tuple(sorted({part.strip() for part in scope.split(",") if part.strip()}))


def reads_activities(provider: Provider, scopes: tuple[str, ...]) -> bool:
    return not ACTIVITY_SCOPES[provider].isdisjoint(scopes)


@dataclass(frozen=True)
class PendingAuthorization:
    """A member's started connection, known by the digest of its `state` (the state itself
    travels only through the member's browser)."""

    state_digest: str
    member_id: uuid.UUID
    provider: Provider
    expire_time: datetime

    def completes(self, member_id: uuid.UUID, provider: Provider, now: datetime) -> bool:
        return self.member_id == member_id and self.provider == provider and now < self.expire_time


def new_authorization(
    member_id: uuid.UUID, provider: Provider, now: datetime
) -> tuple[str, PendingAuthorization]:
    """A fresh unguessable `state` and what is stored of it."""
    state = secrets.token_urlsafe(32)
    return state, PendingAuthorization(
        state_digest(state), member_id, provider, now + AUTHORIZATION_LIFETIME
    )


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    # The member withdrew Stride's access at the provider.
    ACCESS_REVOKED = "access_revoked"


@dataclass(frozen=True)
class ProviderChange:
    """What a provider told us changed in a member's account: the work a webhook queues."""

    provider: Provider
    account_id: str
    kind: ChangeKind
    object_id: str  # The activity's id at the provider; the account's for ACCESS_REVOKED.
    event_time: datetime

    @property
    def job_id(self) -> str:
        """The same change told twice is one job."""
        time = int(self.event_time.timestamp())
        return f"{self.provider.value}:{self.account_id}:{self.kind.value}:{self.object_id}:{time}"


@dataclass(frozen=True)
class ActivityData:
    """An activity as a provider describes it."""

    external_id: str
    display_name: str
    sport_type: str
    start_time: datetime
    elapsed_seconds: int
    moving_seconds: int
    distance_meters: float
    elevation_gain_meters: float
    average_heart_rate: float | None
    max_heart_rate: float | None


@dataclass(frozen=True)
class ImportedActivity:
    member_id: uuid.UUID
    provider: Provider
    data: ActivityData
    update_time: datetime

    @property
    def activity_id(self) -> str:
        return imported_activity_id(self.provider, self.data.external_id)

    @property
    def resource_name(self) -> str:
        return f"users/{self.member_id}/importedActivities/{self.activity_id}"


def imported_activity_id(provider: Provider, external_id: str) -> str:
    return f"{provider.value}-{external_id}"


@dataclass(frozen=True)
class WebhookNotice:
    """A provider's webhook call: the subscription it claims to be for, and the change for
    Stride to make (None when nothing Stride keeps changed)."""

    subscription_id: str
    change: ProviderChange | None
