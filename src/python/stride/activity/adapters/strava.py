"""Strava through its public API (https://developers.strava.com/docs/authentication/,
https://developers.strava.com/docs/reference/, https://developers.strava.com/docs/webhooks/).

    GET  {oauth}/authorize?client_id&redirect_uri&response_type=code&approval_prompt&scope&state
    POST {oauth}/token        client_id, client_secret, code, grant_type=authorization_code
                              client_id, client_secret, refresh_token, grant_type=refresh_token
         200 {"token_type": "Bearer", "access_token", "refresh_token", "expires_at", "expires_in",
              "athlete": {"id", …}}   (the athlete only for a code)
         400 a code or refresh token Strava does not take; 401 our client id or secret
    POST {oauth}/deauthorize  access_token
    GET  {api}/activities/{id}   Authorization: Bearer <access token>
         200 {"id", "name", "sport_type", "start_date", "elapsed_time", "moving_time",
              "distance", "total_elevation_gain", "average_heartrate", "max_heartrate", …}
         401 a token Strava does not take; 404 no such activity (or not the athlete's);
         429 rate limited: X-RateLimit-Limit / X-RateLimit-Usage (and the X-ReadRateLimit-*
             pair for reads) say "<15 minutes>,<day>"; the 15-minute windows reset on the
             quarter hour, the daily one at midnight UTC.

Errors are logged by status only: Strava's bodies can echo what was sent. Tokens and the
client secret never reach a log.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from stride.activity.adapters.provider_http import ProviderHttpClient
from stride.activity.domain.providers import (
    ActivityData,
    ChangeKind,
    Fetched,
    Grant,
    Provider,
    ProviderChange,
    ProviderTokens,
    WebhookNotice,
)
from stride.activity.service_layer.ports import (
    ProviderUnavailable,
)
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FieldViolation, InvalidArgument

_log = logging.getLogger("stride.activity.strava")

# What Stride asks for: the athlete's activities, the private ones too.
SCOPES = "read,activity:read_all"
_QUARTER_HOUR = timedelta(minutes=15)
_MAX_ID = 2**63 - 1


class StravaClient(ProviderHttpClient):
    provider = Provider.STRAVA

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        oauth_base: str,
        api_base: str,
        clock: Clock = utcnow,
        timeout_seconds: float = 10.0,
    ) -> None:
        super().__init__(timeout_seconds)
        self._client_id, self._client_secret = client_id, client_secret
        self._redirect_uri = redirect_uri
        self._oauth = oauth_base.rstrip("/")
        self._api = api_base.rstrip("/")
        self._clock = clock

    # Strava's OAuth has no PKCE: the challenge and verifier are not sent.
    def authorize_uri(self, state: str, code_challenge: str = "") -> str:
        query = {
            "client_id": self._client_id,
            "redirect_uri": self._redirect_uri,
            "response_type": "code",
            "approval_prompt": "auto",
            "scope": SCOPES,
            "state": state,
        }
        return f"{self._oauth}/authorize?{urlencode(query)}"

    async def exchange_code(self, code: str, code_verifier: str = "") -> Grant:
        answer = await self._token({"code": code, "grant_type": "authorization_code"})
        athlete = answer.get("athlete")
        athlete_id = athlete.get("id") if isinstance(athlete, dict) else None
        if not isinstance(athlete_id, int):
            raise ProviderUnavailable("token answer without the athlete")
        return Grant(str(athlete_id), _tokens(answer))

    async def refresh(self, refresh_token: str) -> ProviderTokens:
        answer = await self._token({"refresh_token": refresh_token, "grant_type": "refresh_token"})
        return _tokens(answer)

    async def subscribe(self, access_token: str, account_id: str) -> None:
        """Strava's one webhook subscription covers every athlete."""

    async def revoke(self, access_token: str, account_id: str = "") -> None:
        status, _ = await self._post(f"{self._oauth}/deauthorize", {"access_token": access_token})
        if status == 401:
            return  # Strava no longer knows the token: the access is gone already.
        if status >= 300:
            _log.warning("Strava deauthorize answered %s", status)
            raise ProviderUnavailable(f"deauthorize answered {status}")

    async def fetch(self, access_token: str, change: ProviderChange) -> Fetched:
        """The activity a webhook announced, or its id as gone if Strava no longer has it (or
        it is no longer the athlete's to read)."""
        data = await self.fetch_activity(access_token, change.object_id)
        return Fetched(gone=(change.object_id,)) if data is None else Fetched(activities=(data,))

    async def fetch_activity(self, access_token: str, external_id: str) -> ActivityData | None:
        status, document = await self._bearer_call(
            "GET",
            f"{self._api}/activities/{external_id}",
            access_token,
            lambda headers: retry_after(headers, self._clock()),
        )
        if status == 404:
            return None
        if status != 200 or not isinstance(document, dict):
            _log.warning("Strava activity read answered %s", status)
            raise ProviderUnavailable(f"activity read answered {status}")
        try:
            return activity_data(document)
        except (ValueError, KeyError, TypeError):
            raise ProviderUnavailable("activity not understood") from None

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        form = {"client_id": self._client_id, "client_secret": self._client_secret, **form}
        return await self._token_answer(f"{self._oauth}/token", form)


def _tokens(answer: dict[str, Any]) -> ProviderTokens:
    access, refresh, expires_at = (
        answer.get("access_token"),
        answer.get("refresh_token"),
        answer.get("expires_at"),
    )
    if not (isinstance(access, str) and isinstance(refresh, str) and isinstance(expires_at, int)):
        raise ProviderUnavailable("token answer incomplete")
    return ProviderTokens(access, refresh, datetime.fromtimestamp(expires_at, UTC))


def activity_data(document: dict[str, Any]) -> ActivityData:
    """Strava's DetailedActivity as Stride keeps it."""
    return ActivityData(
        external_id=str(int(document["id"])),
        display_name=str(document.get("name") or "")[:200],
        sport_type=str(document.get("sport_type") or document.get("type") or "Workout")[:64],
        start_time=datetime.fromisoformat(str(document["start_date"]).replace("Z", "+00:00")),
        elapsed_seconds=int(document.get("elapsed_time") or 0),
        moving_seconds=int(document.get("moving_time") or 0),
        distance_meters=float(document.get("distance") or 0.0),
        elevation_gain_meters=float(document.get("total_elevation_gain") or 0.0),
        average_heart_rate=_heart_rate(document.get("average_heartrate")),
        max_heart_rate=_heart_rate(document.get("max_heartrate")),
    )


def _heart_rate(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and value > 0 else None


def retry_after(headers: Any, now: datetime) -> float:
    """Seconds until the window Strava counts as spent resets: the next quarter hour when a
    15-minute limit is reached, midnight UTC when only a daily one is."""
    windows = [
        (headers.get(f"X-{kind}RateLimit-Limit"), headers.get(f"X-{kind}RateLimit-Usage"))
        for kind in ("", "Read")
    ]
    daily_spent = short_spent = False
    for limits, usage in windows:
        pair = _counts(limits), _counts(usage)
        if pair[0] is None or pair[1] is None:
            continue
        (short_limit, daily_limit), (short_usage, daily_usage) = pair[0], pair[1]
        short_spent |= short_usage >= short_limit
        daily_spent |= daily_usage >= daily_limit
    if daily_spent and not short_spent:
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
        return (midnight - now).total_seconds()
    minutes = now.minute % 15
    quarter_start = now.replace(minute=now.minute - minutes, second=0, microsecond=0)
    return math.ceil((quarter_start + _QUARTER_HOUR - now).total_seconds())


def _counts(header: str | None) -> tuple[int, int] | None:
    try:
        short, daily = (int(part) for part in (header or "").split(","))
    except ValueError:
        return None
    return short, daily


def parse_webhook_event(body: bytes) -> WebhookNotice:
    """A Strava webhook event: `object_type` (activity, athlete), `object_id`, `aspect_type`
    (create, update, delete), `owner_id`, `subscription_id`, `event_time`, `updates`."""
    try:
        event = json.loads(body)
        if not isinstance(event, dict):
            raise ValueError("not an object")
        object_type, aspect = str(event["object_type"]), str(event["aspect_type"])
        object_id, owner_id = _id(event["object_id"]), _id(event["owner_id"])
        subscription_id = _id(event["subscription_id"])
        event_time = datetime.fromtimestamp(_id(event["event_time"]), UTC)
        updates = event.get("updates") or {}
        if not isinstance(updates, dict):
            raise ValueError("updates not an object")
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        raise InvalidArgument([FieldViolation("payload", "strava.invalid_event")]) from None
    kind = _change_kind(object_type, aspect, updates)
    change = (
        ProviderChange(Provider.STRAVA, str(owner_id), kind, str(object_id), event_time)
        if kind is not None
        else None
    )
    return WebhookNotice(str(subscription_id), change)


def _id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
        raise ValueError("not an id")
    return value


def _change_kind(object_type: str, aspect: str, updates: dict[str, Any]) -> ChangeKind | None:
    if object_type == "activity":
        return {
            "create": ChangeKind.CREATED,
            "update": ChangeKind.UPDATED,
            "delete": ChangeKind.DELETED,
        }.get(aspect)
    if object_type == "athlete" and str(updates.get("authorized", "")).lower() == "false":
        return ChangeKind.ACCESS_REVOKED
    return None  # Nothing Stride keeps changed.
