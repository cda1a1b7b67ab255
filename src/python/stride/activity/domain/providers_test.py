import base64
import hashlib
import string
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from stride.activity.domain.providers import (
    AUTHORIZATION_LIFETIME,
    ChangeKind,
    DailyFigures,
    Provider,
    ProviderChange,
    ProviderTokens,
    code_challenge,
    day_samples,
    granted_scopes,
    new_authorization,
    provider_named,
    reads_activities,
    state_digest,
)

NOW = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
MEMBER = uuid.uuid4()


def test_an_authorization_is_stored_as_the_digest_of_its_unguessable_state() -> None:
    state, pending = new_authorization(MEMBER, Provider.STRAVA, NOW)
    other, _ = new_authorization(MEMBER, Provider.STRAVA, NOW)
    assert len(state) >= 40
    assert state != other
    assert pending.state_digest == state_digest(state) != state
    assert pending.expire_time == NOW + AUTHORIZATION_LIFETIME


def test_an_authorization_completes_for_its_member_and_provider_before_it_expires() -> None:
    _, pending = new_authorization(MEMBER, Provider.STRAVA, NOW)
    assert pending.completes(MEMBER, Provider.STRAVA, NOW + timedelta(minutes=9))
    assert not pending.completes(uuid.uuid4(), Provider.STRAVA, NOW)
    assert not pending.completes(MEMBER, Provider.STRAVA, NOW + AUTHORIZATION_LIFETIME)


def test_activities_are_read_only_with_an_activity_scope() -> None:
    assert granted_scopes(" read, activity:read_all ,read") == ("activity:read_all", "read")
    assert reads_activities(Provider.STRAVA, granted_scopes("read,activity:read"))
    assert not reads_activities(Provider.STRAVA, granted_scopes("read,profile:read_all"))
    assert not reads_activities(Provider.STRAVA, granted_scopes(""))


def test_tokens_are_refreshed_minutes_before_they_expire() -> None:
    tokens = ProviderTokens("a", "r", NOW + timedelta(minutes=10))
    assert not tokens.expiring(NOW)
    assert tokens.expiring(NOW + timedelta(minutes=5))


def test_the_same_change_told_twice_is_one_job() -> None:
    def change(kind: ChangeKind, seconds: int) -> ProviderChange:
        return ProviderChange(
            Provider.STRAVA, "134815", kind, "987", NOW + timedelta(seconds=seconds)
        )

    assert change(ChangeKind.CREATED, 0).job_id == change(ChangeKind.CREATED, 0).job_id
    assert change(ChangeKind.CREATED, 0).job_id != change(ChangeKind.UPDATED, 0).job_id
    assert change(ChangeKind.UPDATED, 0).job_id != change(ChangeKind.UPDATED, 60).job_id


def test_only_known_providers_are_named() -> None:
    assert provider_named("strava") is Provider.STRAVA
    assert provider_named("fitbit") is Provider.FITBIT
    assert provider_named("garmin") is Provider.GARMIN
    assert provider_named("Strava") is None
    assert provider_named("polar") is None


def test_the_pkce_challenge_is_rfc_7636_s256() -> None:
    _, pending = new_authorization(MEMBER, Provider.FITBIT, NOW)
    verifier = pending.code_verifier
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set(string.ascii_letters + string.digits + "-._~")
    # BASE64URL(SHA256(ASCII(verifier))), unpadded (RFC 7636 §4.2).
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    assert code_challenge(verifier) == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert len(code_challenge(verifier)) == 43


def test_scopes_read_comma_or_space_separated() -> None:
    assert granted_scopes("activity heartrate  profile") == ("activity", "heartrate", "profile")
    assert reads_activities(Provider.FITBIT, granted_scopes("profile activity"))
    assert not reads_activities(Provider.FITBIT, granted_scopes("profile heartrate"))


def test_a_days_figures_are_samples_replaced_each_time_the_day_is_read() -> None:
    start = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    figures = DailyFigures(
        datetime(2026, 12, 1).date(), start, start + timedelta(days=1), 9876, 58.0
    )
    steps, resting = day_samples(figures, start + timedelta(hours=10))
    assert (steps.id, steps.value, steps.start_time) == ("2026-12-01/steps", 9876.0, start)
    assert steps.end_time == start + timedelta(hours=10)  # The day so far.
    assert (resting.id, resting.value, resting.end_time) == (
        "2026-12-01/resting_heart_rate",
        58.0,
        None,
    )
    assert day_samples(replace(figures, steps=None, resting_heart_rate=None), NOW) == ()
