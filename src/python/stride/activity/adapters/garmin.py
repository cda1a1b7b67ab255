"""Garmin through the Garmin Connect Developer Program's Health API (OAuth 2.0 with PKCE, the
push architecture).

    GET  {connect}/oauth2Confirm?response_type=code&client_id&redirect_uri&state
                                &code_challenge&code_challenge_method=S256
    POST {diauth}/di-oauth2-service/oauth/token
                              grant_type=authorization_code, client_id, client_secret, code,
                              code_verifier, redirect_uri | grant_type=refresh_token,
                              client_id, client_secret, refresh_token
         200 {"access_token", "refresh_token", "expires_in", "refresh_token_expires_in",
              "token_type", "scope", "jti"}; 400 a code or refresh token Garmin does not
              take; 401 our client id or secret
    GET    {api}/wellness-api/rest/user/id            {"userId"}: who connected
    GET    {api}/wellness-api/rest/user/permissions   ["ACTIVITY_EXPORT", "HEALTH_EXPORT", …]
    DELETE {api}/wellness-api/rest/user/registration  204: the member's consent withdrawn
    API calls carry `Authorization: Bearer <access token>`; 401 a token Garmin does not take;
    429 rate limited (`Retry-After`).

Push: Garmin POSTs the summaries themselves to our endpoint, one JSON object per call keyed by
summary type — `dailies` (userId, summaryId, calendarDate, startTimeInSeconds,
startTimeOffsetInSeconds, durationInSeconds, steps, restingHeartRateInBeatsPerMinute, …),
`activities` (userId, summaryId, activityId, activityName, activityType, startTimeInSeconds,
durationInSeconds, distanceInMeters, averageHeartRateInBeatsPerMinute,
maxHeartRateInBeatsPerMinute, totalElevationGainInMeters, …), `deregistrations` (userId) and
`userPermissionsChange` (userId, permissions) — with a `garmin-client-id` header naming the
application it is for; Garmin signs nothing else. A push is acknowledged with 200.

Errors are logged by status only; tokens and the client secret never reach a log.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from stride.activity.adapters.provider_http import ProviderHttpClient, expiring_tokens
from stride.activity.domain.providers import (
    ActivityData,
    ChangeKind,
    DailyFigures,
    Fetched,
    Grant,
    Provider,
    ProviderChange,
    ProviderTokens,
)
from stride.activity.service_layer.ports import (
    ProviderUnavailable,
    TokenRejected,
)
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import Unauthenticated

_log = logging.getLogger("stride.activity.garmin")

CLIENT_ID_HEADER = "garmin-client-id"
_MAX_SUMMARIES = 1000
_DEFAULT_RETRY_SECONDS = 60.0
_MAX_RETRY_SECONDS = 3600.0


class GarminClient(ProviderHttpClient):
    provider = Provider.GARMIN

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        connect_base: str,
        auth_base: str,
        api_base: str,
        clock: Clock = utcnow,
        timeout_seconds: float = 10.0,
    ) -> None:
        super().__init__(timeout_seconds)
        self._client_id, self._client_secret = client_id, client_secret
        self._redirect_uri = redirect_uri
        self._connect = connect_base.rstrip("/")
        self._auth = auth_base.rstrip("/")
        self._api = api_base.rstrip("/")
        self._clock = clock

    def authorize_uri(self, state: str, code_challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": self._redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self._connect}/oauth2Confirm?{urlencode(query)}"

    async def exchange_code(self, code: str, code_verifier: str) -> Grant:
        tokens = await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": self._redirect_uri,
            }
        )
        user = await self._read("/wellness-api/rest/user/id", tokens.access_token)
        permissions = await self._read("/wellness-api/rest/user/permissions", tokens.access_token)
        user_id = user.get("userId") if isinstance(user, dict) else None
        if not isinstance(user_id, str) or not user_id or not isinstance(permissions, list):
            raise ProviderUnavailable("user id or permissions not understood")
        granted = tuple(sorted({str(p) for p in permissions}))
        return Grant(user_id, tokens, granted)

    async def refresh(self, refresh_token: str) -> ProviderTokens:
        return await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def subscribe(self, access_token: str, account_id: str) -> None:
        """Garmin pushes every consenting user's summaries to the endpoints configured for the
        application: nothing to do per member."""

    async def revoke(self, access_token: str, account_id: str) -> None:
        """Deletes the member's registration: Garmin stops pushing and forgets the consent."""
        try:
            status, _ = await self._call(
                "DELETE", "/wellness-api/rest/user/registration", access_token
            )
        except TokenRejected:
            return  # Garmin no longer takes the token: the registration is gone already.
        if status not in (200, 204, 404):
            _log.warning("Garmin deregistration answered %s", status)
            raise ProviderUnavailable(f"deregistration answered {status}")

    async def fetch(self, access_token: str, change: ProviderChange) -> Fetched:
        """What Garmin pushed with the change: its data came with it, so nothing is read (and
        no token is needed)."""
        try:
            summary = json.loads(change.pushed)
            if change.kind is ChangeKind.DAY_UPDATED:
                return Fetched(day=daily_figures(summary))
            return Fetched(activities=(activity_data(summary),))
        except (ValueError, KeyError, TypeError, OverflowError):
            raise ProviderUnavailable("pushed summary not understood") from None

    async def _read(self, path: str, access_token: str) -> Any:
        status, document = await self._call("GET", path, access_token)
        if status != 200:
            _log.warning("Garmin read answered %s", status)
            raise ProviderUnavailable(f"read answered {status}")
        return document

    async def _call(self, method: str, path: str, access_token: str) -> tuple[int, Any]:
        return await self._bearer_call(method, f"{self._api}{path}", access_token, _retry_after)

    async def _token(self, form: dict[str, str]) -> ProviderTokens:
        answer = await self._token_answer(
            f"{self._auth}/di-oauth2-service/oauth/token",
            {"client_id": self._client_id, "client_secret": self._client_secret, **form},
        )
        return expiring_tokens(answer, self._clock())


def _retry_after(headers: Any) -> float:
    try:
        seconds = float(headers.get("Retry-After") or "")
    except ValueError:
        return _DEFAULT_RETRY_SECONDS
    return min(max(seconds, 1.0), _MAX_RETRY_SECONDS)


def daily_figures(summary: dict[str, Any]) -> DailyFigures:
    """A `dailies` summary: the member's day from its start (UTC seconds) for its duration."""
    start = datetime.fromtimestamp(int(summary["startTimeInSeconds"]), UTC)
    steps, resting = summary.get("steps"), summary.get("restingHeartRateInBeatsPerMinute")
    return DailyFigures(
        day=date.fromisoformat(str(summary["calendarDate"])),
        start_time=start,
        end_time=start + timedelta(seconds=int(summary.get("durationInSeconds") or 86400)),
        steps=steps if isinstance(steps, int) and not isinstance(steps, bool) else None,
        resting_heart_rate=float(resting) if isinstance(resting, int | float) and resting else None,
    )


def activity_data(summary: dict[str, Any]) -> ActivityData:
    """An `activities` summary as Stride keeps it."""
    average = summary.get("averageHeartRateInBeatsPerMinute")
    peak = summary.get("maxHeartRateInBeatsPerMinute")
    duration = int(summary.get("durationInSeconds") or 0)
    return ActivityData(
        external_id=str(summary.get("activityId") or summary["summaryId"]),
        display_name=str(summary.get("activityName") or "")[:200],
        sport_type=str(summary.get("activityType") or "OTHER")[:64],
        start_time=datetime.fromtimestamp(int(summary["startTimeInSeconds"]), UTC),
        elapsed_seconds=duration,
        moving_seconds=int(summary.get("activeDurationInSeconds") or duration),
        distance_meters=float(summary.get("distanceInMeters") or 0.0),
        elevation_gain_meters=float(summary.get("totalElevationGainInMeters") or 0.0),
        average_heart_rate=float(average) if isinstance(average, int | float) and average else None,
        max_heart_rate=float(peak) if isinstance(peak, int | float) and peak else None,
    )


def verify_push(client_id_header: str, client_id: str) -> None:
    """A push must name our application in `garmin-client-id` (Garmin's pushes carry no
    signature: see ADR 0015)."""
    if not client_id or not hmac.compare_digest(client_id_header.encode(), client_id.encode()):
        raise Unauthenticated("WEBHOOK_CLIENT_UNKNOWN", "webhook.unknown_client")


def parse_push(body: bytes, now: datetime) -> list[ProviderChange]:
    """The changes a push carries: each daily summary and activity with its data, a member
    deregistered, a member's permissions changed. Entries Stride cannot read are skipped."""
    try:
        document = json.loads(body)
    except ValueError:
        return []
    if not isinstance(document, dict):
        return []
    changes: list[ProviderChange] = []
    for key, entries in document.items():
        if not isinstance(entries, list):
            continue
        for entry in entries[:_MAX_SUMMARIES]:
            change = _change(key, entry, now) if isinstance(entry, dict) else None
            if change is not None:
                changes.append(change)
    return changes


def _change(key: str, entry: dict[str, Any], now: datetime) -> ProviderChange | None:
    user, read = entry.get("userId"), _READERS.get(key)
    if read is None or not isinstance(user, str) or not user or len(user) > 64:
        return None
    try:
        kind, object_id, pushed = read(entry, user)
    except (ValueError, KeyError, TypeError, OverflowError, OSError):
        return None
    return ProviderChange(Provider.GARMIN, user, kind, object_id, now, pushed=pushed)


def _daily(entry: dict[str, Any], user: str) -> tuple[ChangeKind, str, str]:
    return ChangeKind.DAY_UPDATED, daily_figures(entry).day.isoformat(), json.dumps(entry)


def _activity(entry: dict[str, Any], user: str) -> tuple[ChangeKind, str, str]:
    return ChangeKind.CREATED, activity_data(entry).external_id, json.dumps(entry)


def _deregistration(entry: dict[str, Any], user: str) -> tuple[ChangeKind, str, str]:
    return ChangeKind.ACCESS_REVOKED, user, ""


def _permissions(entry: dict[str, Any], user: str) -> tuple[ChangeKind, str, str]:
    permissions = entry["permissions"]
    if not isinstance(permissions, list):
        raise TypeError("permissions not a list")
    granted = " ".join(sorted({str(p)[:64] for p in permissions}))
    return ChangeKind.PERMISSIONS_CHANGED, granted, ""


# Each summary type Stride keeps something of: the change it makes (kind, object id, pushed).
_READERS: dict[str, Callable[[dict[str, Any], str], tuple[ChangeKind, str, str]]] = {
    "dailies": _daily,
    "activities": _activity,
    "deregistrations": _deregistration,
    "userPermissionsChange": _permissions,
}
