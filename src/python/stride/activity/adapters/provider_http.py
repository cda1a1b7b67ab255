"""What the wearable providers' clients (Strava's, Fitbit's, Garmin's) share: their OAuth 2.0
token endpoints, read as RFC 6749 has them answer (200 with a JSON object; 400 a grant used,
expired or never ours; 401 our own client's credentials), and their APIs' calls with a
member's bearer token (401 a token to refresh; 429 a rate limit, for as long as the provider's
headers say), both read into the ports' exceptions. Failures are logged by status only: tokens
and client secrets never reach a log."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from stride.activity.domain.providers import Provider, ProviderTokens
from stride.activity.service_layer.ports import (
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
)
from stride.platform.http_client import HttpClient

_log = logging.getLogger("stride.activity.providers")


class ProviderHttpClient(HttpClient):
    provider: Provider

    async def _token_answer(
        self, url: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The token endpoint's answer to `form` (an authorization code or refresh token)."""
        status, body = await self._post(url, form, headers)
        if status == 400:  # The code or refresh token: used, revoked, never ours.
            raise ProviderRefused("token endpoint answered 400")
        if status == 401:  # Our client id or secret: a configuration to fix, not the member's.
            _log.error("%s refused our client credentials", self.provider.value)
            raise ProviderUnavailable("client credentials refused")
        if status != 200:
            _log.warning("%s token endpoint answered %s", self.provider.value, status)
            raise ProviderUnavailable(f"token endpoint answered {status}")
        try:
            answer = json.loads(body)
        except ValueError:
            raise ProviderUnavailable("token answer not JSON") from None
        if not isinstance(answer, dict):
            raise ProviderUnavailable("token answer not an object")
        return answer

    async def _post(
        self, url: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        try:
            async with self._http().post(url, data=form, headers=headers or {}) as reply:
                return reply.status, await reply.read()
        except (aiohttp.ClientError, TimeoutError) as failure:
            raise ProviderUnavailable(type(failure).__name__) from None

    async def _bearer_call(
        self,
        method: str,
        url: str,
        access_token: str,
        retry_after: Callable[[Any], float],
    ) -> tuple[int, Any]:
        """The status and JSON answer (None for an empty body or an error) of an API call on
        the member's behalf; `retry_after` reads the provider's rate-limit headers of a 429."""
        headers = {"authorization": f"Bearer {access_token}"}
        try:
            async with self._http().request(method, url, headers=headers) as reply:
                status, body, reply_headers = reply.status, await reply.read(), reply.headers
        except (aiohttp.ClientError, TimeoutError) as failure:
            raise ProviderUnavailable(type(failure).__name__) from None
        if status == 401:
            raise TokenRejected()
        if status == 429:
            raise RateLimited(retry_after(reply_headers))
        if not 200 <= status < 300 or not body:
            return status, None  # An error's body is the provider's prose, not ours to read.
        try:
            return status, json.loads(body)
        except ValueError:
            raise ProviderUnavailable("answer not JSON") from None


def expiring_tokens(answer: dict[str, Any], now: datetime) -> ProviderTokens:
    """The tokens of an answer that says how long the access token lasts (`expires_in`)."""
    access, refresh, expires_in = (
        answer.get("access_token"),
        answer.get("refresh_token"),
        answer.get("expires_in"),
    )
    if not (isinstance(access, str) and isinstance(refresh, str) and isinstance(expires_in, int)):
        raise ProviderUnavailable("token answer incomplete")
    return ProviderTokens(access, refresh, now + timedelta(seconds=expires_in))
