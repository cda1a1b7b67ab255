"""Wearable providers a member connects (Strava, Fitbit, Garmin): the connection and its tokens, the
authorization a member starts and completes once, the changes a provider tells us about, and the
activities and daily figures imported from it."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from stride.activity.domain.health import Device, DeviceType, GivenSample, HealthKind

# A started authorization is good for this long: the member approves at the provider and the
# app comes back, usually within a minute.
AUTHORIZATION_LIFETIME = timedelta(minutes=10)
# Tokens are refreshed this long before they expire, so a call never carries one that dies on
# the way.
REFRESH_MARGIN = timedelta(minutes=5)


class Provider(StrEnum):
    STRAVA = "strava"
    FITBIT = "fitbit"
    GARMIN = "garmin"
    # Not a provider one connects: the activity files members upload (FIT, GPX, TCX).
    FILE = "file"


# The scopes a provider must grant for Stride to read every activity; any one is enough.
ACTIVITY_SCOPES: dict[Provider, frozenset[str]] = {
    Provider.STRAVA: frozenset({"activity:read_all", "activity:read"}),
    Provider.FITBIT: frozenset({"activity"}),
    # Garmin's user permissions (the member may untick one at Garmin Connect).
    Provider.GARMIN: frozenset({"ACTIVITY_EXPORT"}),
}


def provider_named(slug: str) -> Provider | None:
    try:
        return Provider(slug)
    except ValueError:
        return None


# What a provider's daily figures were measured with, ranked by the member's device priority
# (`domain.health`) against their phone's and any other provider's.
PROVIDER_DEVICES: dict[Provider, Device] = {
    Provider.FITBIT: Device(DeviceType.FITNESS_BAND, "Fitbit"),
    Provider.GARMIN: Device(DeviceType.WATCH, "Garmin"),
}


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
    """What a provider gives for an authorization code: the member's account there, tokens,
    and the scopes the member granted when the provider says them here (Fitbit's token answer,
    Garmin's user permissions) rather than in the redirect (Strava's)."""

    account_id: str
    tokens: ProviderTokens
    scopes: tuple[str, ...] = ()


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
    """A provider's scope list as a sorted tuple: Strava's comma-separated redirect parameter
    (`read,activity:read_all`), Fitbit's space-separated token answer (`activity profile`),
    Garmin's permissions as a change names them (`ACTIVITY_EXPORT HEALTH_EXPORT`)."""
    return tuple(sorted(set(scope.replace(",", " ").split())))


def reads_activities(provider: Provider, scopes: tuple[str, ...]) -> bool:
    return not ACTIVITY_SCOPES[provider].isdisjoint(scopes)


@dataclass(frozen=True)
class PendingAuthorization:
    """A member's started connection, known by the digest of its `state` (the state itself
    travels only through the member's browser), with the PKCE code verifier (RFC 7636) whose
    challenge the authorize page was given: only this server can exchange the code."""

    state_digest: str
    member_id: uuid.UUID
    provider: Provider
    expire_time: datetime
    code_verifier: str

    def completes(self, member_id: uuid.UUID, provider: Provider, now: datetime) -> bool:
        return self.member_id == member_id and self.provider == provider and now < self.expire_time


def new_authorization(
    member_id: uuid.UUID, provider: Provider, now: datetime
) -> tuple[str, PendingAuthorization]:
    """A fresh unguessable `state` and what is stored of it."""
    state = secrets.token_urlsafe(32)
    # 64 random bytes: 86 characters, within RFC 7636's 43 to 128.
    verifier = secrets.token_urlsafe(64)
    return state, PendingAuthorization(
        state_digest(state), member_id, provider, now + AUTHORIZATION_LIFETIME, verifier
    )


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def code_challenge(code_verifier: str) -> str:
    """RFC 7636's S256 challenge: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(code_verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    # The member withdrew Stride's access at the provider.
    ACCESS_REVOKED = "access_revoked"
    # Something of one of the member's days changed (Fitbit says which day, not what; Garmin
    # pushes the day's summary): its daily figures (and for Fitbit its activities) are taken
    # again.
    DAY_UPDATED = "day_updated"
    # The member changed what Stride may read (Garmin's user permissions).
    PERMISSIONS_CHANGED = "permissions_changed"


@dataclass(frozen=True)
class ProviderChange:
    """What a provider told us changed in a member's account: the work a webhook queues."""

    provider: Provider
    account_id: str
    kind: ChangeKind
    # The activity's id at the provider; the account's for ACCESS_REVOKED; the day
    # (YYYY-MM-DD, the member's calendar there) for DAY_UPDATED; the permissions granted now,
    # space-separated, for PERMISSIONS_CHANGED.
    object_id: str
    event_time: datetime
    # The summary as the provider pushed it (JSON), from a provider that sends the data itself
    # (Garmin); empty from those that send ids to read (Strava, Fitbit). Never a token.
    pushed: str = ""

    @property
    def job_id(self) -> str:
        """The same change told twice is one job. To the microsecond: Fitbit's notifications
        carry no time of their own, so two of the same day are told apart by when they came."""
        time = f"{self.event_time.timestamp():.6f}"
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
class DailyFigures:
    """A member's day as a provider counts it: the day runs from `start_time` to `end_time` in
    the member's time zone there; a figure the provider has none of is None."""

    day: date
    start_time: datetime
    end_time: datetime
    steps: int | None
    resting_heart_rate: float | None


@dataclass(frozen=True)
class Fetched:
    """What a provider has now for a change: activities to keep, the ids of activities it no
    longer has, and a day's figures. With `whole_day` the activities are all the day's (Fitbit
    reads a day whole): those kept of it and not among them are gone."""

    activities: tuple[ActivityData, ...] = ()
    gone: tuple[str, ...] = ()
    day: DailyFigures | None = None
    whole_day: bool = False


@dataclass(frozen=True)
class WebhookNotice:
    """A provider's webhook call: the subscription it claims to be for, and the change for
    Stride to make (None when nothing Stride keeps changed)."""

    subscription_id: str
    change: ProviderChange | None


def day_samples(figures: DailyFigures, now: datetime) -> tuple[GivenSample, ...]:
    """A day's figures as health samples: one id per day and kind, so a day read again replaces
    its samples; the day's steps span the day so far."""
    day = figures.day.isoformat()
    samples = []
    if figures.steps is not None:
        end = min(figures.end_time, now)
        samples.append(
            GivenSample(
                f"{day}/steps",
                HealthKind.STEPS,
                float(figures.steps),
                "count",
                figures.start_time,
                end,
            )
        )
    if figures.resting_heart_rate is not None:
        samples.append(
            GivenSample(
                f"{day}/resting_heart_rate",
                HealthKind.RESTING_HEART_RATE,
                figures.resting_heart_rate,
                "bpm",
                figures.start_time,
                None,
            )
        )
    return tuple(samples)
