"""Push notifications through Firebase Cloud Messaging's HTTP v1 API
(https://firebase.google.com/docs/cloud-messaging/send/v1-api).

    POST {api_base}/v1/projects/{project_id}/messages:send
         {"message": {"token": ..., "notification": {"title": ..., "body": ...}, "data": {...}}}

Requests carry an OAuth 2.0 access token obtained for a Google service account with the JWT
bearer grant (RFC 7523): an RS256 JWT signed with the account's private key, claiming
iss=client_email, scope=https://www.googleapis.com/auth/firebase.messaging, aud=token_uri, iat
and exp=iat+3600, is POSTed form-encoded as
`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>` to the token_uri. The
access token is cached until 60 s before it expires. Every endpoint (api_base, the account's
token_uri) is configuration, so tests point them at a local server.

FCM's answer becomes a SendOutcome. A failing token endpoint raises FcmAuthError instead: no
push can succeed until it answers. Keys, tokens and assertions are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt

from stride.notifications.domain.notifications import SendOutcome
from stride.platform.http_client import HttpClient

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_ASSERTION_LIFETIME_SECONDS = 3600  # The longest Google accepts.
_REFRESH_MARGIN_SECONDS = 60  # Clock skew and request time must not let a token expire in flight.
_RETRIED_ERROR_CODES = frozenset({"UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED"})

log = logging.getLogger(__name__)


class FcmAuthError(Exception):
    """The token endpoint could not be reached or refused the service account."""


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: str = field(repr=False)  # PEM; kept out of repr so it never reaches a log.
    token_uri: str

    @classmethod
    def from_json(cls, text: str) -> ServiceAccount:
        """Reads the JSON key file Google issues for a service account."""
        key = json.loads(text)
        return cls(key["client_email"], key["private_key"], key["token_uri"])


@dataclass(frozen=True)
class _AccessToken:
    value: str
    refresh_at: float  # On the monotonic clock.


class FcmPush(HttpClient):
    def __init__(
        self, api_base: str, project_id: str, account: ServiceAccount, timeout_seconds: float = 10.0
    ) -> None:
        super().__init__(timeout_seconds)
        self._send_url = f"{api_base.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._account = account
        self._token: _AccessToken | None = None
        self._token_lock = asyncio.Lock()  # Concurrent sends wait for one token fetch.

    async def send(self, token: str, title: str, body: str, data: Mapping[str, str]) -> SendOutcome:
        message = {
            "message": {
                "token": token,
                "notification": {"title": title, "body": body},
                "data": dict(data),
                # FCM hands iOS pushes to APNs: without a sound they arrive silently.
                "android": {"notification": {"sound": "default"}},
                "apns": {"payload": {"aps": {"sound": "default"}}},
            }
        }
        try:
            access_token = await self._access_token()
            status, error_code = await self._post(message, access_token)
            if status == 401:  # Revoked before it expired: a fresh token gets one more try.
                self._forget(access_token)
                status, error_code = await self._post(message, await self._access_token())
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("FCM unreachable: %s", type(error).__name__)
            return SendOutcome.RETRY
        outcome = _outcome(status, error_code)
        if outcome is not SendOutcome.SENT:
            log.info("FCM answered %s (%s): %s", status, error_code, outcome.value)
        return outcome

    async def _post(self, message: dict[str, Any], access_token: str) -> tuple[int, str | None]:
        """FCM's HTTP status and, for an error, its FcmError errorCode."""
        headers = {"authorization": f"Bearer {access_token}"}
        async with self._http().post(self._send_url, json=message, headers=headers) as reply:
            if 200 <= reply.status < 300:
                return reply.status, None
            return reply.status, _fcm_error_code(await reply.text())

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token.refresh_at:
                self._token = await self._fetch_token()
            return self._token.value

    def _forget(self, access_token: str) -> None:
        # Another send may already have replaced it; that one is still good.
        if self._token is not None and self._token.value == access_token:
            self._token = None

    async def _fetch_token(self) -> _AccessToken:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": self._assertion()}
        requested_at = time.monotonic()
        try:
            async with self._http().post(self._account.token_uri, data=form) as reply:
                status, text = reply.status, await reply.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise FcmAuthError(f"token endpoint {self._account.token_uri} unreachable") from error
        if status != 200:
            # Google's OAuth error body ({"error": "invalid_grant", ...}) names the cause.
            raise FcmAuthError(
                f"token endpoint refused {self._account.client_email}: {status} {text[:200]}"
            )
        try:
            answer = json.loads(text)
            lifetime = float(answer["expires_in"])
            return _AccessToken(
                str(answer["access_token"]), requested_at + lifetime - _REFRESH_MARGIN_SECONDS
            )
        except (ValueError, KeyError, TypeError) as error:
            raise FcmAuthError("token endpoint answered without an access token") from error

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self._account.client_email,
            "scope": SCOPE,
            "aud": self._account.token_uri,
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME_SECONDS,
        }
        try:
            return jwt.encode(claims, self._account.private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as error:
            raise FcmAuthError("the service account's private key cannot sign") from error


def _fcm_error_code(text: str) -> str | None:
    """The errorCode of the FcmError in a Google error body:
    {"error": {"code": 404, "status": "NOT_FOUND", "details": [{"@type": ..., "errorCode": ...}]}}
    """
    try:
        details = json.loads(text)["error"]["details"]
        fcm_errors = (d for d in details if d.get("@type") == FCM_ERROR_TYPE)
        return str(next(fcm_errors)["errorCode"])
    except (ValueError, LookupError, TypeError, AttributeError, StopIteration):
        return None  # Not a Google error body (a proxy's HTML page, say), or no FcmError in it.


def _outcome(status: int, error_code: str | None) -> SendOutcome:
    if 200 <= status < 300:
        return SendOutcome.SENT
    if error_code == "UNREGISTERED":
        return SendOutcome.DEAD_TOKEN
    if status == 429 or status >= 500 or error_code in _RETRIED_ERROR_CODES:
        return SendOutcome.RETRY
    return SendOutcome.REFUSED
