"""Fitbit through its Web API (https://dev.fitbit.com/build/reference/web-api/).

    GET  {www}/oauth2/authorize?response_type=code&client_id&redirect_uri&scope&state
                              &code_challenge&code_challenge_method=S256
    POST {api}/oauth2/token   Authorization: Basic base64(client_id:client_secret)
                              client_id, grant_type=authorization_code, code, code_verifier,
                              redirect_uri | grant_type=refresh_token, refresh_token
         200 {"access_token", "refresh_token", "expires_in", "scope", "token_type", "user_id"}
         400 invalid_grant (a used or unknown code, a used refresh token); 401 invalid_client
    POST {api}/oauth2/revoke  Authorization: Basic …   token=<access or refresh token>
    POST   {api}/1/user/-/apiSubscriptions/{subscription-id}.json   201 created, 200 there
    DELETE {api}/1/user/-/apiSubscriptions/{subscription-id}.json   204
    GET  {api}/1/user/-/profile.json                   {"user": {"offsetFromUTCMillis", …}}
    GET  {api}/1/user/-/activities/date/{date}.json    {"summary": {"steps",
                                                        "restingHeartRate"?, …}, …}
    GET  {api}/1/user/-/activities/list.json?afterDate={date}&sort=asc&offset=0&limit=100
         {"activities": [{"logId", "activityName", "startTime" (ISO, the member's offset),
                          "duration", "activeDuration" (ms), "distance", "distanceUnit",
                          "elevationGain", "averageHeartRate", …}], "pagination": {…}}
    API calls carry `Authorization: Bearer <access token>`; no Accept-Language, so units are
    metric (kilometres, metres). 401 a token Fitbit does not take (expired_token,
    invalid_token); 429 rate limited (150 calls an hour per member): `Retry-After` or
    `Fitbit-Rate-Limit-Reset` say how many seconds until the hour resets.

The subscriber endpoint: Fitbit checks it with `GET ?verify=<code>` (204 for our verification
code, 404 for any other), then POSTs notifications — a JSON array of {collectionType, date,
ownerId, ownerType, subscriptionId} — signed with `X-Fitbit-Signature`:
base64(HMAC-SHA1(body, client_secret + "&")). A notification whose signature does not match is
answered 404 and dropped, as Fitbit's docs ask.

Errors are logged by status only; tokens and the client secret never reach a log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
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
    granted_scopes,
)
from stride.activity.service_layer.ports import (
    ProviderRefused,
    ProviderUnavailable,
    TokenRejected,
)
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import NotFound

_log = logging.getLogger("stride.activity.fitbit")

# What Stride asks for: activities and steps, heart rate (resting, and activities' averages),
# and the profile for the member's time zone.
SCOPES = "activity heartrate profile"
SIGNATURE_HEADER = "x-fitbit-signature"
# Fitbit's hourly window, when a 429 says nothing of when it resets.
_HOUR_SECONDS = 3600.0
_MAX_NOTIFICATIONS = 1000
_ACTIVITIES_PER_READ = 100
# Notifications of these collections change what Stride keeps of a day.
_DAY_COLLECTIONS = frozenset({"activities"})
# Fitbit's notice that the member withdrew access or deleted their account.
_GONE_COLLECTIONS = frozenset({"userRevokedAccess", "deleteUser"})
_METERS_PER = {"kilometer": 1000.0, "mile": 1609.344, "meter": 1.0}


class FitbitClient(ProviderHttpClient):
    provider = Provider.FITBIT

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        authorize_base: str,
        api_base: str,
        clock: Clock = utcnow,
        timeout_seconds: float = 10.0,
    ) -> None:
        super().__init__(timeout_seconds)
        self._client_id, self._client_secret = client_id, client_secret
        self._redirect_uri = redirect_uri
        self._authorize = authorize_base.rstrip("/")
        self._api = api_base.rstrip("/")
        self._clock = clock

    def authorize_uri(self, state: str, code_challenge: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": self._redirect_uri,
            "scope": SCOPES,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self._authorize}/oauth2/authorize?{urlencode(query)}"

    async def exchange_code(self, code: str, code_verifier: str) -> Grant:
        answer = await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": self._redirect_uri,
            }
        )
        user_id = answer.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise ProviderUnavailable("token answer without the user")
        return Grant(
            user_id,
            expiring_tokens(answer, self._clock()),
            granted_scopes(str(answer.get("scope", ""))),
        )

    async def refresh(self, refresh_token: str) -> ProviderTokens:
        answer = await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})
        return expiring_tokens(answer, self._clock())

    async def subscribe(self, access_token: str, account_id: str) -> None:
        """One subscription to every collection of the member, named after their Fitbit id
        (a subscription id is ours to choose, unique per member)."""
        status, _ = await self._call("POST", _subscription_path(account_id), access_token)
        if status not in (200, 201):
            _log.warning("Fitbit subscription answered %s", status)
            raise ProviderUnavailable(f"subscription answered {status}")

    async def revoke(self, access_token: str, account_id: str) -> None:
        """Deletes the member's subscription, then revokes the token (and with it the
        member's grant)."""
        try:
            await self._call("DELETE", _subscription_path(account_id), access_token)
        except TokenRejected:
            return  # Fitbit no longer takes the token: the access is gone already.
        status, _ = await self._post(
            f"{self._api}/oauth2/revoke", {"token": access_token}, self._client_auth()
        )
        if status in (200, 400, 401):  # 400/401: a token Fitbit no longer knows.
            return
        _log.warning("Fitbit revoke answered %s", status)
        raise ProviderUnavailable(f"revoke answered {status}")

    async def fetch(self, access_token: str, change: ProviderChange) -> Fetched:
        """The day's activities and daily figures, the day bounded in the member's time zone
        at Fitbit."""
        day = date.fromisoformat(change.object_id)
        profile = await self._read("/1/user/-/profile.json", access_token)
        summary = await self._read(f"/1/user/-/activities/date/{day}.json", access_token)
        query = urlencode(
            {
                "afterDate": day.isoformat(),
                "sort": "asc",
                "offset": 0,
                "limit": _ACTIVITIES_PER_READ,
            }
        )
        listed = await self._read(f"/1/user/-/activities/list.json?{query}", access_token)
        try:
            return day_read(day, profile, summary, listed)
        except (ValueError, KeyError, TypeError, OverflowError):
            raise ProviderUnavailable("day not understood") from None

    async def _read(self, path: str, access_token: str) -> dict[str, Any]:
        status, document = await self._call("GET", path, access_token)
        if status in (403, 404):  # The member's data is no longer ours to read.
            raise ProviderRefused(f"read answered {status}")
        if status != 200 or not isinstance(document, dict):
            _log.warning("Fitbit read answered %s", status)
            raise ProviderUnavailable(f"read answered {status}")
        return document

    async def _call(self, method: str, path: str, access_token: str) -> tuple[int, Any]:
        return await self._bearer_call(method, f"{self._api}{path}", access_token, retry_after)

    def _client_auth(self) -> dict[str, str]:
        """Fitbit takes our client's credentials as HTTP Basic authentication."""
        credentials = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode())
        return {"authorization": f"Basic {credentials.decode()}"}

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        return await self._token_answer(
            f"{self._api}/oauth2/token", {"client_id": self._client_id, **form}, self._client_auth()
        )


def _subscription_path(account_id: str) -> str:
    return f"/1/user/-/apiSubscriptions/{subscription_id(account_id)}.json"


def subscription_id(account_id: str) -> str:
    return f"stride-{account_id}"


def retry_after(headers: Any) -> float:
    """Seconds until Fitbit takes calls again: its Retry-After, else the seconds its rate-limit
    headers say the hour resets in, else an hour."""
    for name in ("Retry-After", "Fitbit-Rate-Limit-Reset"):
        try:
            seconds = float(headers.get(name) or "")
        except ValueError:
            continue
        if 0 < seconds <= _HOUR_SECONDS:
            return seconds
    return _HOUR_SECONDS


def day_read(
    day: date, profile: dict[str, Any], summary: dict[str, Any], listed: dict[str, Any]
) -> Fetched:
    """The day from Fitbit's profile (the member's offset from UTC), daily activity summary
    and activity log list (the activities of the day among those from it on)."""
    offset = timedelta(milliseconds=int(profile["user"].get("offsetFromUTCMillis") or 0))
    start = datetime.combine(day, datetime.min.time(), UTC) - offset
    end = start + timedelta(days=1)
    figures = summary["summary"]
    steps, resting = figures.get("steps"), figures.get("restingHeartRate")
    activities = tuple(
        data for data in map(activity_data, listed["activities"]) if start <= data.start_time < end
    )
    return Fetched(
        activities=activities,
        whole_day=True,
        day=DailyFigures(
            day=day,
            start_time=start,
            end_time=end,
            steps=steps if isinstance(steps, int) and not isinstance(steps, bool) else None,
            # Fitbit leaves it out, or 0, on a day it could not tell.
            resting_heart_rate=float(resting)
            if isinstance(resting, int | float) and resting
            else None,
        ),
    )


def activity_data(document: dict[str, Any]) -> ActivityData:
    """An activity of Fitbit's activity log list as Stride keeps it."""
    unit = str(document.get("distanceUnit") or "Kilometer").lower()
    average = document.get("averageHeartRate")
    return ActivityData(
        external_id=str(int(document["logId"])),
        display_name=str(document.get("activityName") or "")[:200],
        sport_type=str(document.get("activityName") or "Workout")[:64],
        start_time=datetime.fromisoformat(str(document["startTime"])).astimezone(UTC),
        elapsed_seconds=int(document.get("duration") or 0) // 1000,
        moving_seconds=int(document.get("activeDuration") or 0) // 1000,
        distance_meters=float(document.get("distance") or 0.0) * _METERS_PER.get(unit, 1000.0),
        elevation_gain_meters=float(document.get("elevationGain") or 0.0),
        average_heart_rate=float(average) if isinstance(average, int | float) and average else None,
        max_heart_rate=None,  # Fitbit's log gives zones, not the peak.
    )


def verify_signature(body: bytes, signature: str, client_secret: str) -> None:
    """Fitbit's X-Fitbit-Signature check: a notification signed otherwise is answered 404."""
    key = f"{client_secret}&".encode()
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha1).digest()).decode()
    if not client_secret or not hmac.compare_digest(expected.encode(), signature.encode()):
        raise NotFound("WEBHOOK_SIGNATURE_INVALID", "webhook.signature_invalid")


def verify_subscriber(given: str, verification_code: str) -> None:
    """Fitbit's subscriber check: our verification code is answered 204, any other 404."""
    if not verification_code or not hmac.compare_digest(given.encode(), verification_code.encode()):
        raise NotFound("WEBHOOK_VERIFICATION_FAILED", "webhook.verification_failed")


def parse_notifications(body: bytes, now: datetime) -> list[ProviderChange]:
    """The changes a verified notification names: a day's activities and figures, or a member
    gone. Collections Stride does not keep (sleep, body, foods) and entries it cannot read are
    skipped: the call is Fitbit's and verified, so it is acknowledged all the same."""
    try:
        notifications = json.loads(body)
    except ValueError:
        return []
    if not isinstance(notifications, list):
        return []
    changes = []
    for entry in notifications[:_MAX_NOTIFICATIONS]:
        change = _change(entry, now) if isinstance(entry, dict) else None
        if change is not None:
            changes.append(change)
    return changes


def _change(entry: dict[str, Any], now: datetime) -> ProviderChange | None:
    owner, collection = entry.get("ownerId"), entry.get("collectionType")
    if not isinstance(owner, str) or not owner or len(owner) > 64:
        return None
    if collection in _GONE_COLLECTIONS:
        return ProviderChange(Provider.FITBIT, owner, ChangeKind.ACCESS_REVOKED, owner, now)
    if collection not in _DAY_COLLECTIONS:
        return None
    try:
        day = date.fromisoformat(str(entry.get("date")))
    except ValueError:
        return None
    return ProviderChange(Provider.FITBIT, owner, ChangeKind.DAY_UPDATED, day.isoformat(), now)
