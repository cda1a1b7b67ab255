"""What the HTTP providers' adapters (FCM, Twilio, Strava) share: one aiohttp session each,
opened on first use (inside the running event loop) and closed when the service stops."""

from __future__ import annotations

import aiohttp


class HttpClient:
    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session
