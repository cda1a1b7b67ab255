"""A local stand-in for Fitbit, speaking its Web API as documented
(https://dev.fitbit.com/build/reference/web-api/: Authorization, Subscription, Activity, User):

- `GET /oauth2/authorize` (the www.fitbit.com page) approves at once as the user signed in here
  (`sign_in`) and redirects to `redirect_uri` with `code` and `state`, as Fitbit does once the
  user allows (or with `error=access_denied`); it requires a `code_challenge` with
  `code_challenge_method=S256` (PKCE);
- `POST /oauth2/token` (client authentication by HTTP Basic) takes `authorization_code` grants
  (checking `code_verifier` against the challenge, and `redirect_uri`) and `refresh_token` grants,
  answering `access_token`, `refresh_token`, `expires_in`, `scope`, `token_type`, `user_id`; a
  refresh token is good once; errors as `{"errors": [{"errorType", "message"}], "success":
  false}` (400 invalid_grant, 401 invalid_client);
- `POST /oauth2/revoke` revokes the token's grant (every token of the user);
- `POST`/`DELETE /1/user/-/apiSubscriptions/{id}.json` create (201; 200 if the same one is
  there; 409 if the id is another's) and delete (204) a user's subscription;
- `GET /1/user/-/profile.json`, `/1/user/-/activities/date/{date}.json` and
  `/1/user/-/activities/list.json?afterDate=…` answer the user's profile (with
  `offsetFromUTCMillis`), daily summary and activity log, with `Fitbit-Rate-Limit-*` headers;
  401 `expired_token`/`invalid_token`; 429 with `Retry-After` when scripted (`fail_next`);
- `verify_subscriber` checks a subscriber endpoint as Fitbit does when one is added (the
  verification code must get 204, a wrong one 404), and `notify` POSTs a user's notifications to
  it, signed with `X-Fitbit-Signature`: base64(HMAC-SHA1(body, client_secret + "&")).

Written from the documentation, not from Stride's adapter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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

CLIENT_ID = "23QXYZ"
HOURLY_LIMIT = 150  # Calls per user per hour.


@dataclass
class _Token:
    user_id: str
    scope: str
    expires_at: float


@dataclass
class _Code:
    user_id: str
    scope: str
    challenge: str
    redirect_uri: str


def _errors(status: int, error_type: str, message: str) -> web.Response:
    body = {"errors": [{"errorType": error_type, "message": message}], "success": False}
    return web.json_response(body, status=status)


class FitbitServer:
    def __init__(self, journal: Path | None = None) -> None:
        self.port = free_port()
        self.journal = journal  # Each notification sent, one JSON line, for `./pants up`.
        self.client_id = CLIENT_ID
        self.client_secret = secrets.token_hex(16)
        self.token_lifetime_seconds = 28800  # Fitbit's eight hours.
        self.users: dict[str, dict[str, Any]] = {}
        self.summaries: dict[tuple[str, str], dict[str, Any]] = {}  # (user, day) → summary
        self.activities: dict[str, list[dict[str, Any]]] = {}
        self.subscriptions: dict[tuple[str, str], str] = {}  # (user, id) → collection or ""
        self.signed_in: str | None = None
        self.granted_scope = ""  # What the user allows; empty: all that was asked.
        self.authorize_requests: list[dict[str, str]] = []
        self.revoked: list[str] = []
        self.refreshes = 0
        self.reads = 0
        self.subscriber_url = ""
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._failures: list[int] = []
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/oauth2/authorize", self._authorize),
                web.post("/oauth2/token", self._token),
                web.post("/oauth2/revoke", self._revoke),
                web.post("/1/user/-/apiSubscriptions/{id}.json", self._subscribe),
                web.delete("/1/user/-/apiSubscriptions/{id}.json", self._unsubscribe),
                web.get("/1/user/-/profile.json", self._profile),
                web.get("/1/user/-/activities/date/{date}.json", self._summary),
                web.get("/1/user/-/activities/list.json", self._activity_list),
            ]
        )

    @property
    def base_url(self) -> str:
        """Both www.fitbit.com (the authorize page) and api.fitbit.com, here on one port."""
        return f"http://127.0.0.1:{self.port}"

    # Scripting the users and their data.

    def add_user(self, offset_hours: int = 3) -> str:
        user_id = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        self.users[user_id] = {
            "encodedId": user_id,
            "displayName": f"Noura {user_id}",
            "timezone": "Asia/Riyadh",
            "offsetFromUTCMillis": offset_hours * 3_600_000,
        }
        self.activities[user_id] = []
        return user_id

    def sign_in(self, user_id: str) -> None:
        """Who approves the next authorizations."""
        self.signed_in = user_id

    def set_day(
        self, user_id: str, day: str, steps: int, resting_heart_rate: int | None = None
    ) -> None:
        summary: dict[str, Any] = {
            "activityCalories": 812,
            "caloriesOut": 2410,
            "distances": [{"activity": "total", "distance": round(steps * 0.00075, 2)}],
            "fairlyActiveMinutes": 21,
            "lightlyActiveMinutes": 190,
            "sedentaryMinutes": 640,
            "steps": steps,
            "veryActiveMinutes": 34,
        }
        if resting_heart_rate is not None:
            summary["restingHeartRate"] = resting_heart_rate
        self.summaries[(user_id, day)] = summary

    def add_activity(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """An activity log entry; `startTime` carries the user's offset, as Fitbit writes it."""
        activity = {
            "logId": 10_000_000 + secrets.randbelow(10**9),
            "activityName": "Run",
            "activityTypeId": 90009,
            "logType": "auto_detected",
            "startTime": "2026-12-01T08:30:00.000+03:00",
            "originalStartTime": "2026-12-01T08:30:00.000+03:00",
            "duration": 2_917_000,
            "originalDuration": 2_917_000,
            "activeDuration": 2_790_000,
            "distance": 8.0467,
            "distanceUnit": "Kilometer",
            "elevationGain": 42.0,
            "averageHeartRate": 151,
            "steps": 8123,
            "calories": 612,
            **fields,
        }
        self.activities[user_id].append(activity)
        return activity

    def delete_activity(self, user_id: str, log_id: int) -> None:
        self.activities[user_id] = [a for a in self.activities[user_id] if a["logId"] != log_id]

    def fail_next(self, count: int, status: int = 503) -> None:
        """The next `count` API reads answer `status` (a 429 with Retry-After)."""
        self._failures = [status] * count

    def expire_access_tokens(self) -> None:
        for token in self._access.values():
            token.expires_at = time.time() - 1

    def tokens_of(self, user_id: str) -> list[str]:
        return [token for token, held in self._access.items() if held.user_id == user_id]

    # OAuth.

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return _errors(400, "invalid_request", "Invalid client_id or response_type")
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            return _errors(400, "invalid_request", "PKCE code_challenge (S256) is required")
        answer: dict[str, str] = {"state": query.get("state", "")}
        if self.signed_in is None:
            answer["error"] = "access_denied"
        else:
            code = secrets.token_hex(20)
            scope = self.granted_scope or query.get("scope", "")
            self._codes[code] = _Code(
                self.signed_in, scope, query["code_challenge"], query.get("redirect_uri", "")
            )
            answer["code"] = code
        # Fitbit appends `#_=_` to the redirect; the query is what an app reads.
        raise web.HTTPFound(f"{query.get('redirect_uri', '')}?{urlencode(answer)}#_=_")

    def _client_authenticated(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return scheme == "Basic" and hmac.compare_digest(given.encode(), expected.encode())

    async def _token(self, request: web.Request) -> web.Response:
        if not self._client_authenticated(request):
            return _errors(401, "invalid_client", "Invalid authorization header format.")
        form = {key: str(value) for key, value in (await request.post()).items()}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            found = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if (
                found is None
                or found.challenge != challenge
                or found.redirect_uri != form.get("redirect_uri", "")
            ):
                return _errors(400, "invalid_grant", "Authorization code invalid")
            return web.json_response(self._issue(found.user_id, found.scope))
        if grant == "refresh_token":
            held = self._refresh.pop(form.get("refresh_token", ""), None)
            if held is None:
                return _errors(400, "invalid_grant", "Refresh token invalid")
            self.refreshes += 1
            return web.json_response(self._issue(held.user_id, held.scope))
        return _errors(400, "unsupported_grant_type", "The grant type is not supported.")

    def _issue(self, user_id: str, scope: str) -> dict[str, Any]:
        access, refresh = secrets.token_hex(24), secrets.token_hex(24)
        expires_at = time.time() + self.token_lifetime_seconds
        self._access[access] = _Token(user_id, scope, expires_at)
        self._refresh[refresh] = _Token(user_id, scope, expires_at)
        return {
            "access_token": access,
            "expires_in": self.token_lifetime_seconds,
            "refresh_token": refresh,
            "scope": scope,
            "token_type": "Bearer",
            "user_id": user_id,
        }

    async def _revoke(self, request: web.Request) -> web.Response:
        if not self._client_authenticated(request):
            return _errors(401, "invalid_client", "Invalid authorization header format.")
        token = str((await request.post()).get("token", ""))
        held = self._access.get(token) or self._refresh.get(token)
        if held is None:
            return _errors(400, "invalid_request", "Token invalid.")
        for tokens in (self._access, self._refresh):
            for key in [k for k, t in tokens.items() if t.user_id == held.user_id]:
                del tokens[key]
        for subscription in [k for k in self.subscriptions if k[0] == held.user_id]:
            del self.subscriptions[subscription]
        self.revoked.append(held.user_id)
        return web.json_response({})

    # The API.

    def _rate_headers(self) -> dict[str, str]:
        seconds_left = 3600 - int(time.time()) % 3600
        return {
            "Fitbit-Rate-Limit-Limit": str(HOURLY_LIMIT),
            "Fitbit-Rate-Limit-Remaining": str(max(HOURLY_LIMIT - self.reads, 0)),
            "Fitbit-Rate-Limit-Reset": str(seconds_left),
        }

    def _bearer(self, request: web.Request) -> _Token | web.Response:
        """The token the request carries, or Fitbit's 401."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        held = self._access.get(token) if scheme == "Bearer" else None
        if held is None:
            return _errors(401, "invalid_token", f"Access token invalid: {token[:4]}…")
        if held.expires_at <= time.time():
            return _errors(401, "expired_token", f"Access token expired: {token[:4]}…")
        return held

    async def _api(self, request: web.Request, scope: str) -> _Token | web.Response:
        """The caller's token for a read needing `scope`, or the answer to give instead."""
        if self._failures:
            status = self._failures.pop(0)
            if status == 429:
                headers = {**self._rate_headers(), "Retry-After": "37"}
                body = {"errors": [{"errorType": "system", "message": "Too Many Requests"}]}
                return web.json_response(body, status=429, headers=headers)
            return _errors(status, "system", "Service unavailable")
        held = self._bearer(request)
        if isinstance(held, web.Response):
            return held
        if scope not in held.scope.split():
            return _errors(403, "insufficient_scope", f"This application does not have {scope}")
        self.reads += 1
        return held

    async def _profile(self, request: web.Request) -> web.Response:
        held = await self._api(request, "profile")
        if isinstance(held, web.Response):
            return held
        return web.json_response({"user": self.users[held.user_id]}, headers=self._rate_headers())

    async def _summary(self, request: web.Request) -> web.Response:
        held = await self._api(request, "activity")
        if isinstance(held, web.Response):
            return held
        day = request.match_info["date"]
        summary = dict(self.summaries.get((held.user_id, day)) or {"steps": 0})
        if "heartrate" not in held.scope.split():
            summary.pop("restingHeartRate", None)
        activities = [a for a in self.activities[held.user_id] if a["startTime"][:10] == day]
        body = {"activities": activities, "goals": {"steps": 10000}, "summary": summary}
        return web.json_response(body, headers=self._rate_headers())

    async def _activity_list(self, request: web.Request) -> web.Response:
        held = await self._api(request, "activity")
        if isinstance(held, web.Response):
            return held
        after = request.query.get("afterDate", "")
        try:
            date.fromisoformat(after[:10])
            limit = int(request.query.get("limit", "20"))
            offset = int(request.query.get("offset", "0"))
        except ValueError:
            return _errors(400, "validation", "Invalid afterDate, limit or offset")
        if request.query.get("sort") != "asc" or not 0 < limit <= 100 or offset != 0:
            return _errors(400, "validation", "sort must be asc after afterDate; limit 1-100")
        found = sorted(
            (a for a in self.activities[held.user_id] if a["startTime"][:10] >= after[:10]),
            key=lambda a: a["startTime"],
        )
        body = {
            "activities": found[:limit],
            "pagination": {
                "afterDate": after,
                "limit": limit,
                "next": "",
                "offset": 0,
                "previous": "",
                "sort": "asc",
            },
        }
        return web.json_response(body, headers=self._rate_headers())

    async def _subscribe(self, request: web.Request) -> web.Response:
        held = self._bearer(request)
        if isinstance(held, web.Response):
            return held
        subscription_id = request.match_info["id"]
        for (user_id, existing), _collection in self.subscriptions.items():
            if existing == subscription_id and user_id != held.user_id:
                return _errors(409, "conflict", "The subscription id is in use.")
        key = (held.user_id, subscription_id)
        status = 200 if key in self.subscriptions else 201
        self.subscriptions[key] = ""
        body = {
            "collectionType": "user",
            "ownerId": held.user_id,
            "ownerType": "user",
            "subscriberId": "1",
            "subscriptionId": subscription_id,
        }
        return web.json_response(body, status=status)

    async def _unsubscribe(self, request: web.Request) -> web.Response:
        held = self._bearer(request)
        if isinstance(held, web.Response):
            return held
        if self.subscriptions.pop((held.user_id, request.match_info["id"]), None) is None:
            return _errors(404, "not_found", "The subscription does not exist.")
        return web.Response(status=204)

    # The subscriber endpoint.

    async def verify_subscriber(self, url: str, verification_code: str) -> bool:
        """What Fitbit does when a subscriber is added: the code must get 204, a wrong one
        404; the endpoint receives notifications only if both held."""
        wrong = secrets.token_hex(16)
        async with aiohttp.ClientSession() as session:
            right_status = await _get_status(session, url, verification_code)
            wrong_status = await _get_status(session, url, wrong)
        verified = right_status == 204 and wrong_status == 404
        if verified:
            self.subscriber_url = url
        return verified

    def sign(self, body: bytes) -> str:
        key = f"{self.client_secret}&".encode()
        return base64.b64encode(hmac.new(key, body, hashlib.sha1).digest()).decode()

    async def notify(
        self, user_id: str, day: str, collection: str = "activities", signature: str | None = None
    ) -> int:
        """POSTs the user's notification to the verified subscriber, as Fitbit does; the
        status answered. `signature` replaces the real one (to test a forged call)."""
        if not self.subscriber_url:
            raise RuntimeError("no verified subscriber: verify one first")
        subscription = next((sid for (uid, sid) in self.subscriptions if uid == user_id), "")
        notifications = [
            {
                "collectionType": collection,
                "date": day,
                "ownerId": user_id,
                "ownerType": "user",
                "subscriptionId": subscription,
            }
        ]
        body = json.dumps(notifications).encode()
        if self.journal is not None:
            with self.journal.open("a") as journal:
                journal.write(json.dumps(notifications) + "\n")
        headers = {
            "content-type": "application/json",
            "X-Fitbit-Signature": self.sign(body) if signature is None else signature,
        }
        async with aiohttp.ClientSession() as session, session.post(
            self.subscriber_url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=5)
        ) as reply:
            return reply.status


async def _get_status(session: aiohttp.ClientSession, url: str, code: str) -> int:
    try:
        async with session.get(
            url, params={"verify": code}, timeout=aiohttp.ClientTimeout(total=5)
        ) as reply:
            return reply.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


@asynccontextmanager
async def running_fitbit(journal: Path | None = None) -> AsyncIterator[FitbitServer]:
    server = FitbitServer(journal)
    async with serving(server.app, server.port):
        yield server
