"""What the use cases need of the outside world beyond the database: a wearable provider's OAuth
and activity API (one adapter per provider: Strava's, Fitbit's, Garmin's), the queue
the webhooks hand their work to, the signal that wakes live sessions' watchers, and the
formats of the activity files members upload."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Protocol

from stride.activity.domain.activity_files import ActivityFile, FileFormat, Route
from stride.activity.domain.providers import (
    Fetched,
    Grant,
    Provider,
    ProviderChange,
    ProviderTokens,
)


class ProviderRefused(Exception):
    """The provider refused for good: a bad or used authorization code, a refresh token it
    revoked. Retrying the same request cannot help."""


class ProviderUnavailable(Exception):
    """No usable answer (a 5xx, a timeout): the same request may work later."""


class TokenRejected(Exception):
    """The provider did not take the access token (a 401): refresh it and try again."""


class RateLimited(Exception):
    """The provider's rate limit is reached until `retry_after_seconds` from now."""

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(f"rate limited for {retry_after_seconds:g} s")
        self.retry_after_seconds = retry_after_seconds


class WearableProvider(Protocol):
    provider: Provider

    def authorize_uri(self, state: str, code_challenge: str) -> str:
        """The provider's page where the member approves Stride, carrying `state` and the PKCE
        challenge of the verifier `exchange_code` will show (a provider without PKCE ignores
        both)."""
        ...

    async def exchange_code(self, code: str, code_verifier: str) -> Grant:
        ...

    async def refresh(self, refresh_token: str) -> ProviderTokens:
        ...

    async def subscribe(self, access_token: str, account_id: str) -> None:
        """Asks the provider to tell our webhook of the member's changes, where it subscribes
        per member (Fitbit); nothing where one subscription covers every member (Strava)."""
        ...

    async def revoke(self, access_token: str, account_id: str) -> None:
        """Withdraws Stride's access (and the member's subscription); a token the provider no
        longer knows is revoked already."""
        ...

    async def fetch(self, access_token: str, change: ProviderChange) -> Fetched:
        """What the provider has now for a change it announced (raises RateLimited,
        TokenRejected, ProviderRefused, ProviderUnavailable)."""
        ...


# The providers configured, by name: one without credentials is absent.
Providers = Mapping[Provider, WearableProvider]


class ChangeQueue(Protocol):
    async def enqueue(self, change: ProviderChange) -> None:
        """Stored durably before it returns; the same change enqueued twice is done once."""
        ...


class LiveNotifier(Protocol):
    """Wakes the watchers of a topic on every replica (`stride.platform.events.live`)."""

    async def notify(self, *topics: str) -> None:
        ...

    def waiting(self, topic: str) -> AbstractContextManager[asyncio.Event]:
        ...


class UnreadableFile(Exception):
    """The bytes are not a file of the format they claim: damaged, cut short or another kind."""


class ActivityFiles(Protocol):
    def read(self, file_format: FileFormat, data: bytes) -> ActivityFile:
        """What the file says; UnreadableFile when it cannot be read."""
        ...

    def write_gpx(self, route: Route) -> bytes:
        """The route as a GPX document."""
        ...
