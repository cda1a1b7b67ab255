"""A local stand-in for Garmin's Health API, speaking the Garmin Connect Developer Program's
OAuth 2.0 PKCE flow and push architecture as its documentation describes them:

- `GET /oauth2Confirm` (the connect.garmin.com consent page) approves at once as the user
  signed in here (`sign_in`) and redirects to `redirect_uri` with `code` and `state` (or
  `error=access_denied`); it requires `code_challenge` with `code_challenge_method=S256`;
- `POST /di-oauth2-service/oauth/token` (diauth.garmin.com) takes `authorization_code` grants
  (client id and secret in the form, `code_verifier` checked against the challenge) and
  `refresh_token` grants, answering `access_token`, `refresh_token`, `expires_in`,
  `refresh_token_expires_in`, `token_type`, `scope`, `jti`; a refresh token is good once;
- `GET /wellness-api/rest/user/id` answers `{"userId"}`, `GET …/user/permissions` the
  permissions the user granted, `DELETE …/user/registration` deregisters the user (204) — all
  with `Authorization: Bearer`, 401 for a token Garmin does not take;
- `push` POSTs summaries to the application's configured endpoint as Garmin does: one JSON
  object keyed by summary type (`dailies`, `activities`, `deregistrations`,
  `userPermissionsChange`) with the `garmin-client-id` header.

Written from the documentation, not from Stride's adapter.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from stride.platform.local.ports import free_port
from stride.platform.testing.http import serving

EVERY_PERMISSION = ("ACTIVITY_EXPORT", "HEALTH_EXPORT", "WORKOUT_IMPORT", "COURSE_IMPORT")


@dataclass
class _Token:
    user_id: str
    expires_at: float


@dataclass
class _Code:
    user_id: str
    challenge: str
    redirect_uri: str


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


class GarminServer:
    def __init__(self, journal: Path | None = None) -> None:
        self.port = free_port()
        self.journal = journal  # Each push sent, one JSON line, for `./pants up`.
        self.client_id = secrets.token_hex(16)
        self.client_secret = secrets.token_urlsafe(24)
        self.token_lifetime_seconds = 86400  # Garmin's day.
        self.permissions: dict[str, list[str]] = {}
        self.signed_in: str | None = None
        self.authorize_requests: list[dict[str, str]] = []
        self.deregistered: list[str] = []
        self.refreshes = 0
        self.push_url = ""
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, str] = {}  # refresh token → user
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/oauth2Confirm", self._authorize),
                web.post("/di-oauth2-service/oauth/token", self._token),
                web.get("/wellness-api/rest/user/id", self._user_id),
                web.get("/wellness-api/rest/user/permissions", self._permissions),
                web.delete("/wellness-api/rest/user/registration", self._deregister),
            ]
        )

    @property
    def base_url(self) -> str:
        """connect.garmin.com, diauth.garmin.com and apis.garmin.com, here on one port."""
        return f"http://127.0.0.1:{self.port}"

    def add_user(self, permissions: tuple[str, ...] = EVERY_PERMISSION) -> str:
        user_id = secrets.token_hex(16)
        self.permissions[user_id] = list(permissions)
        return user_id

    def sign_in(self, user_id: str) -> None:
        self.signed_in = user_id

    def expire_access_tokens(self) -> None:
        for token in self._access.values():
            token.expires_at = time.time() - 1

    def tokens_of(self, user_id: str) -> list[str]:
        return [token for token, held in self._access.items() if held.user_id == user_id]

    # OAuth 2.0 with PKCE.

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return _error(400, "invalid_request", "client_id or response_type")
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            return _error(400, "invalid_request", "code_challenge (S256) is required")
        answer: dict[str, str] = {"state": query.get("state", "")}
        if self.signed_in is None:
            answer["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Code(
                self.signed_in, query["code_challenge"], query.get("redirect_uri", "")
            )
            answer["code"] = code
        raise web.HTTPFound(f"{query.get('redirect_uri', '')}?{urlencode(answer)}")

    async def _token(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return _error(401, "invalid_client", "Bad client credentials")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            found = self._codes.pop(form.get("code", ""), None)
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if (
                found is None
                or found.challenge != challenge
                or found.redirect_uri != form.get("redirect_uri", "")
            ):
                return _error(400, "invalid_grant", "Invalid authorization code")
            return web.json_response(self._issue(found.user_id))
        if grant == "refresh_token":
            holder = self._refresh.pop(form.get("refresh_token", ""), None)
            if holder is None:
                return _error(400, "invalid_grant", "Invalid refresh token")
            self.refreshes += 1
            return web.json_response(self._issue(holder))
        return _error(400, "unsupported_grant_type", "Unsupported grant type")

    def _issue(self, user_id: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = _Token(user_id, time.time() + self.token_lifetime_seconds)
        self._refresh[refresh] = user_id
        return {
            "access_token": access,
            "expires_in": self.token_lifetime_seconds,
            "token_type": "bearer",
            "refresh_token": refresh,
            "scope": "PARTNER_WRITE PARTNER_READ CONNECT_READ CONNECT_WRITE",
            "jti": secrets.token_hex(16),
            "refresh_token_expires_in": 7_775_998,
        }

    def _bearer(self, request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        held = self._access.get(token) if scheme.lower() == "bearer" else None
        if held is None or held.expires_at <= time.time():
            return None
        return held.user_id

    # The user endpoints.

    async def _user_id(self, request: web.Request) -> web.Response:
        user_id = self._bearer(request)
        if user_id is None:
            return _error(401, "invalid_token", "Unauthorized")
        return web.json_response({"userId": user_id})

    async def _permissions(self, request: web.Request) -> web.Response:
        user_id = self._bearer(request)
        if user_id is None:
            return _error(401, "invalid_token", "Unauthorized")
        return web.json_response(self.permissions[user_id])

    async def _deregister(self, request: web.Request) -> web.Response:
        user_id = self._bearer(request)
        if user_id is None:
            return _error(401, "invalid_token", "Unauthorized")
        for token in self.tokens_of(user_id):
            del self._access[token]
        for token in [t for t, held in self._refresh.items() if held == user_id]:
            del self._refresh[token]
        self.deregistered.append(user_id)
        return web.Response(status=204)

    # Push.

    def daily(
        self, user_id: str, calendar_date: str, offset_hours: int = 3, **fields: Any
    ) -> dict[str, Any]:
        """A `dailies` summary of the user's day (local midnight at `offset_hours` from UTC)."""
        midnight = calendar.timegm(date.fromisoformat(calendar_date).timetuple())
        start = midnight - offset_hours * 3600
        return {
            "userId": user_id,
            "summaryId": f"x{secrets.token_hex(4)}-{start:x}-15180",
            "calendarDate": calendar_date,
            "activityType": "WALKING",
            "startTimeInSeconds": start,
            "startTimeOffsetInSeconds": offset_hours * 3600,
            "durationInSeconds": 86400,
            "steps": 8000,
            "distanceInMeters": 6100.0,
            "activeKilocalories": 420,
            "restingHeartRateInBeatsPerMinute": 56,
            **fields,
        }

    def activity(self, user_id: str, start_time: int, **fields: Any) -> dict[str, Any]:
        activity_id = 10_000_000_000 + secrets.randbelow(10**9)
        return {
            "userId": user_id,
            "summaryId": str(activity_id),
            "activityId": activity_id,
            "activityName": "Riyadh Running",
            "activityType": "RUNNING",
            "deviceName": "forerunner965",
            "startTimeInSeconds": start_time,
            "startTimeOffsetInSeconds": 10800,
            "durationInSeconds": 3012,
            "distanceInMeters": 10021.5,
            "averageHeartRateInBeatsPerMinute": 148,
            "maxHeartRateInBeatsPerMinute": 176,
            "totalElevationGainInMeters": 35.0,
            "activeKilocalories": 690,
            **fields,
        }

    async def push(
        self, summary_type: str, entries: list[dict[str, Any]], client_id: str | None = None
    ) -> int:
        """POSTs summaries to the configured push endpoint as Garmin does; the status answered.
        `client_id` replaces the application's (to test a call not from Garmin)."""
        if not self.push_url:
            raise RuntimeError("no push endpoint configured")
        body = {summary_type: entries}
        if self.journal is not None:
            with self.journal.open("a") as journal:
                journal.write(json.dumps(body) + "\n")
        headers = {"garmin-client-id": self.client_id if client_id is None else client_id}
        async with aiohttp.ClientSession() as session, session.post(
            self.push_url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as reply:
            return reply.status


@asynccontextmanager
async def running_garmin(journal: Path | None = None) -> AsyncIterator[GarminServer]:
    server = GarminServer(journal)
    async with serving(server.app, server.port):
        yield server
