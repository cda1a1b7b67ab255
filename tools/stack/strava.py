"""A local stand-in for Strava, speaking its public API as documented
(https://developers.strava.com/docs/authentication/, /docs/reference/, /docs/webhooks/):

- `GET /oauth/authorize` approves at once as the athlete signed in here (`sign_in`) and
  redirects to `redirect_uri` with `state`, `code` and `scope`, as Strava does once the athlete
  clicks Authorize (or with `error=access_denied`);
- `POST /oauth/token` takes `authorization_code` and `refresh_token` grants (form or JSON) and
  answers `token_type`, `access_token`, `refresh_token`, `expires_at`, `expires_in` (and the
  `athlete` for a code); a refresh token is good once, as Strava may rotate them;
- `POST /oauth/deauthorize` revokes every token of the athlete;
- `GET /api/v3/activities/{id}` answers the DetailedActivity of the token's athlete, with the
  `X-RateLimit-*` and `X-ReadRateLimit-*` headers, 401 for a token it does not take (expired,
  revoked), 404 for an activity not there or not the athlete's;
- `POST /api/v3/push_subscriptions` creates the webhook subscription: it validates the callback
  with the `hub.*` handshake and answers the subscription's `id`; `push_event` then POSTs an
  event to the callback as Strava does.

Failures are scriptable (`fail_next`: 429 with spent rate limits, 5xx). Written from the
documentation, not from Stride's adapter.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from stride.platform.local.ports import free_port
from stride.platform.testing.http import serving

CLIENT_ID = "41234"
# Strava's limits for a new application: 15 minutes, then a day.
OVERALL_LIMIT = (200, 2000)
READ_LIMIT = (100, 1000)


@dataclass
class _Token:
    athlete_id: int
    expires_at: int


@dataclass
class _Subscription:
    id: int
    callback_url: str
    verify_token: str


@dataclass
class _Failure:
    status: int
    spent: bool = field(default=False)  # A 429 with the 15-minute window used up.


def _error(status: int, message: str, resource: str, field_name: str, code: str) -> web.Response:
    """Strava's error body: a message and the fault."""
    body = {
        "message": message,
        "errors": [{"resource": resource, "field": field_name, "code": code}],
    }
    return web.json_response(body, status=status)


class StravaServer:
    def __init__(self, journal: Path | None = None) -> None:
        self.port = free_port()
        self.journal = journal  # Each event pushed, one JSON line, for `./pants up`.
        self.client_id = CLIENT_ID
        self.client_secret = secrets.token_hex(20)
        self.token_lifetime_seconds = 21600  # Strava's six hours.
        self.athletes: dict[int, dict[str, Any]] = {}
        self.activities: dict[int, dict[str, Any]] = {}
        self.signed_in: int | None = None
        self.deny_next = False
        self.authorize_requests: list[dict[str, str]] = []
        self.deauthorized: list[int] = []
        self.refreshes = 0
        self.activity_reads = 0
        self.subscription: _Subscription | None = None
        # The id the webhook subscription gets when created (Strava picks it; an application
        # configures it afterwards).
        self.next_subscription_id = 100000 + secrets.randbelow(900000)
        self._codes: dict[str, tuple[int, str]] = {}  # code → (athlete, scope)
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, int] = {}  # refresh token → athlete
        self._failures: list[_Failure] = []
        self._usage = [0, 0]
        self._next_id = 1000
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/oauth/authorize", self._authorize),
                web.post("/oauth/token", self._token),
                web.post("/oauth/deauthorize", self._deauthorize),
                web.get("/api/v3/activities/{id}", self._activity),
                web.post("/api/v3/push_subscriptions", self._subscribe),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def oauth_base(self) -> str:
        return f"{self.base_url}/oauth"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v3"

    # Scripting the athletes and their activities.

    def add_athlete(self) -> int:
        athlete_id = self._new_id()
        self.athletes[athlete_id] = {
            "id": athlete_id,
            "resource_state": 2,
            "firstname": "Layla",
            "lastname": f"Runner {athlete_id}",
        }
        return athlete_id

    def sign_in(self, athlete_id: int) -> None:
        """Who approves the next authorizations."""
        self.signed_in = athlete_id

    def add_activity(self, athlete_id: int, **fields: Any) -> dict[str, Any]:
        activity_id = self._new_id()
        activity = {
            "id": activity_id,
            "resource_state": 3,
            "athlete": {"id": athlete_id, "resource_state": 1},
            "name": "Morning Run",
            "type": "Run",
            "sport_type": "Run",
            "start_date": "2026-12-01T05:30:00Z",
            "start_date_local": "2026-12-01T08:30:00Z",
            "timezone": "(GMT+03:00) Asia/Riyadh",
            "elapsed_time": 2917,
            "moving_time": 2790,
            "distance": 8046.7,
            "total_elevation_gain": 42.0,
            "has_heartrate": True,
            "average_heartrate": 151.3,
            "max_heartrate": 178.0,
            "private": False,
            **fields,
        }
        self.activities[activity_id] = activity
        return activity

    def update_activity(self, activity_id: int, **fields: Any) -> None:
        self.activities[activity_id].update(fields)

    def delete_activity(self, activity_id: int) -> None:
        del self.activities[activity_id]

    def fail_next(self, count: int, status: int = 503) -> None:
        """The next `count` API reads answer `status` (a 429 with the 15-minute limit spent)."""
        self._failures = [_Failure(status, spent=status == 429)] * count

    def expire_access_tokens(self) -> None:
        """As if six hours passed: every access token is refused until refreshed."""
        for token in self._access.values():
            token.expires_at = int(time.time()) - 1

    def tokens_of(self, athlete_id: int) -> list[str]:
        return [token for token, held in self._access.items() if held.athlete_id == athlete_id]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id + secrets.randbelow(10**6) * 10**4

    # OAuth.

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        if query.get("client_id") != self.client_id:
            return _error(400, "Bad Request", "Application", "client_id", "invalid")
        if query.get("response_type") != "code" or not query.get("redirect_uri"):
            return _error(400, "Bad Request", "Authorize", "response_type", "invalid")
        answer: dict[str, str] = {"state": query.get("state", "")}
        if self.deny_next or self.signed_in is None:
            self.deny_next = False
            answer["error"] = "access_denied"
        else:
            code = secrets.token_hex(20)
            scope = query.get("scope", "read")
            self._codes[code] = (self.signed_in, scope)
            answer |= {"code": code, "scope": scope}
        raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(answer)}")

    async def _parameters(self, request: web.Request) -> dict[str, str]:
        """Strava takes its parameters as a form, JSON or the query string."""
        if request.content_type == "application/json":
            document = await request.json()
            return {key: str(value) for key, value in document.items()}
        form = await request.post()
        return {**request.query, **{key: str(value) for key, value in form.items()}}

    async def _token(self, request: web.Request) -> web.Response:
        given = await self._parameters(request)
        if given.get("client_id") != self.client_id or not secrets.compare_digest(
            given.get("client_secret", ""), self.client_secret
        ):
            return _error(401, "Bad Request", "Application", "client_id", "invalid")
        grant = given.get("grant_type")
        if grant == "authorization_code":
            found = self._codes.pop(given.get("code", ""), None)
            if found is None:
                return _error(400, "Bad Request", "AuthorizationCode", "code", "invalid")
            athlete_id = found[0]
            return web.json_response(
                {**self._issue(athlete_id), "athlete": self.athletes[athlete_id]}
            )
        if grant == "refresh_token":
            holder = self._refresh.pop(given.get("refresh_token", ""), None)
            if holder is None:
                return _error(400, "Bad Request", "RefreshToken", "refresh_token", "invalid")
            self.refreshes += 1
            return web.json_response(self._issue(holder))
        return _error(400, "Bad Request", "GrantType", "grant_type", "invalid")

    def _issue(self, athlete_id: int) -> dict[str, Any]:
        access, refresh = secrets.token_hex(20), secrets.token_hex(20)
        expires_at = int(time.time()) + self.token_lifetime_seconds
        self._access[access] = _Token(athlete_id, expires_at)
        self._refresh[refresh] = athlete_id
        return {
            "token_type": "Bearer",
            "expires_at": expires_at,
            "expires_in": self.token_lifetime_seconds,
            "refresh_token": refresh,
            "access_token": access,
        }

    def _bearer(self, request: web.Request, given: dict[str, str] | None = None) -> int | None:
        """The athlete whose live access token the request carries."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            token = (given or {}).get("access_token", "")
        held = self._access.get(token)
        if held is None or held.expires_at <= time.time():
            return None
        return held.athlete_id

    async def _deauthorize(self, request: web.Request) -> web.Response:
        given = await self._parameters(request)
        athlete_id = self._bearer(request, given)
        if athlete_id is None:
            return _error(401, "Authorization Error", "Athlete", "access_token", "invalid")
        for token in self.tokens_of(athlete_id):
            del self._access[token]
        for token in [t for t, held in self._refresh.items() if held == athlete_id]:
            del self._refresh[token]
        self.deauthorized.append(athlete_id)
        return web.json_response({"access_token": given.get("access_token", "")})

    # The API.

    def _rate_headers(self, spent: bool) -> dict[str, str]:
        usage = (OVERALL_LIMIT[0], self._usage[1]) if spent else tuple(self._usage)
        read = (READ_LIMIT[0], self._usage[1]) if spent else tuple(self._usage)
        return {
            "X-RateLimit-Limit": f"{OVERALL_LIMIT[0]},{OVERALL_LIMIT[1]}",
            "X-RateLimit-Usage": f"{usage[0]},{usage[1]}",
            "X-ReadRateLimit-Limit": f"{READ_LIMIT[0]},{READ_LIMIT[1]}",
            "X-ReadRateLimit-Usage": f"{read[0]},{read[1]}",
        }

    async def _activity(self, request: web.Request) -> web.Response:
        self._usage = [self._usage[0] + 1, self._usage[1] + 1]
        if self._failures:
            failure = self._failures.pop(0)
            headers = self._rate_headers(failure.spent)
            if failure.status == 429:
                body = {
                    "message": "Rate Limit Exceeded",
                    "errors": [
                        {"resource": "Application", "field": "rate limit", "code": "exceeded"}
                    ],
                }
                return web.json_response(body, status=429, headers=headers)
            return web.json_response({"message": "Error"}, status=failure.status, headers=headers)
        headers = self._rate_headers(False)
        athlete_id = self._bearer(request)
        if athlete_id is None:
            body = {
                "message": "Authorization Error",
                "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}],
            }
            return web.json_response(body, status=401, headers=headers)
        self.activity_reads += 1
        try:
            activity = self.activities.get(int(request.match_info["id"]))
        except ValueError:
            activity = None
        if activity is None or activity["athlete"]["id"] != athlete_id:
            body = {
                "message": "Record Not Found",
                "errors": [{"resource": "Activity", "field": "id", "code": "invalid"}],
            }
            return web.json_response(body, status=404, headers=headers)
        return web.json_response(activity, headers=headers)

    # Webhooks.

    async def _subscribe(self, request: web.Request) -> web.Response:
        given = await self._parameters(request)
        if (
            given.get("client_id") != self.client_id
            or given.get("client_secret") != self.client_secret
        ):
            return _error(401, "Bad Request", "Application", "client_id", "invalid")
        if self.subscription is not None:
            return _error(400, "Bad Request", "PushSubscription", "", "already exists")
        callback, verify_token = given.get("callback_url", ""), given.get("verify_token", "")
        challenge = secrets.token_hex(8)
        query = urlencode(
            {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token}
        )
        try:
            async with aiohttp.ClientSession() as session, session.get(
                f"{callback}?{query}", timeout=aiohttp.ClientTimeout(total=2)
            ) as reply:
                answered = await reply.json(content_type=None) if reply.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            answered = None
        if not isinstance(answered, dict) or answered.get("hub.challenge") != challenge:
            return _error(
                400,
                "Bad Request",
                "PushSubscription",
                "callback url",
                "GET to callback URL does not return 200",
            )
        self.subscription = _Subscription(self.next_subscription_id, callback, verify_token)
        return web.json_response({"id": self.subscription.id}, status=201)

    async def push_event(
        self,
        owner_id: int,
        object_id: int,
        aspect_type: str = "create",
        object_type: str = "activity",
        updates: dict[str, str] | None = None,
    ) -> int:
        """POSTs an event to the subscription's callback as Strava does; the status answered."""
        if self.subscription is None:
            raise RuntimeError("no push subscription: create one first")
        event = {
            "aspect_type": aspect_type,
            "event_time": int(time.time()),
            "object_id": object_id,
            "object_type": object_type,
            "owner_id": owner_id,
            "subscription_id": self.subscription.id,
            "updates": updates or {},
        }
        if self.journal is not None:
            with self.journal.open("a") as journal:
                journal.write(json.dumps(event) + "\n")
        return await post_event(self.subscription.callback_url, event)


async def create_subscription(
    server: StravaServer, callback_url: str, verify_token: str
) -> tuple[int, dict[str, Any]]:
    """What an application does once: `POST /api/v3/push_subscriptions`; status and body."""
    form = {
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "callback_url": callback_url,
        "verify_token": verify_token,
    }
    async with aiohttp.ClientSession() as session, session.post(
        f"{server.api_base}/push_subscriptions", data=form
    ) as reply:
        return reply.status, await reply.json()


async def post_event(callback_url: str, event: dict[str, Any]) -> int:
    """One webhook event POSTed as Strava does (JSON, no signature); the status answered."""
    async with aiohttp.ClientSession() as session, session.post(
        callback_url, json=event, timeout=aiohttp.ClientTimeout(total=10)
    ) as reply:
        return reply.status


@asynccontextmanager
async def running_strava(journal: Path | None = None) -> AsyncIterator[StravaServer]:
    server = StravaServer(journal)
    async with serving(server.app, server.port):
        yield server
