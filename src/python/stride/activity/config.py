"""Activity's settings (environment variables prefixed STRIDE_)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from stride.platform.config import ENV_PREFIX, WithDataKeys
from stride.platform.events.outbox import DAY_SECONDS


class ActivitySettings(WithDataKeys):
    service_name: str = "activity"
    grpc_port: int = 50105
    # Where exercise images and videos are served from: the library names files under it.
    media_base_url: str = "https://media.stride.app"
    # The maximum heart rate zones are shares of when a session names none: `220 − age` needs
    # an age, which Activity does not hold, and 190 is that rule's value at 30.
    default_max_heart_rate: int = Field(default=190, ge=100, le=250)
    # How long a live session's updates are kept for watchers resuming after a lost connection.
    live_update_retention_seconds: float = Field(default=86_400.0, ge=3600.0)
    live_update_prune_every_seconds: float = Field(default=600.0, gt=0)
    # A watcher hears a heartbeat this often while nothing happens (so the edge, proxies and
    # the app know the stream is alive), and reads the log again then in case a wake-up was lost.
    live_heartbeat_seconds: float = Field(default=15.0, gt=0, le=60)
    # The heart-rate board is read at most this often however many members' readings come in.
    class_board_min_interval_seconds: float = Field(default=1.0, ge=0)
    # Health data (ADR 0014). Raw samples are kept `health_sample_retention_days`; rollups
    # longer the coarser they are. A deletion corrects a minute from the raw samples, an hour
    # from its minutes and a day from its hours, so each keeps at least as long as the finer.
    health_sample_retention_days: int = Field(default=90, ge=31)
    health_minute_rollup_retention_days: int = Field(default=90, ge=31)
    health_hour_rollup_retention_days: int = Field(default=730, ge=31)
    health_day_rollup_retention_days: int = Field(default=3650, ge=31)
    # Monthly partitions exist this many months ahead of the current one.
    health_partitions_ahead: int = Field(default=2, ge=1, le=12)
    health_partitions_every_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _coarser_rollups_keep_longer(self) -> ActivitySettings:
        kept = [
            self.health_sample_retention_days,
            self.health_minute_rollup_retention_days,
            self.health_hour_rollup_retention_days,
            self.health_day_rollup_retention_days,
        ]
        if kept != sorted(kept):
            raise ValueError(
                "health retention must not shrink from samples to minute, hour and day rollups:"
                " each is corrected from the one before"
            )
        return self

    # Strava (https://www.strava.com/settings/api): without a client id it is not offered.
    strava_client_id: str = Field(default="", max_length=32)
    strava_client_secret: SecretStr = SecretStr("")
    # Where Strava sends the member back after approving: the app's link, which hands `code`,
    # `state` and `scope` to CompleteProviderConnection. Its domain is the one registered as
    # the application's Authorization Callback Domain.
    strava_redirect_uri: str = ""
    # What our webhook subscription was created with, and the id Strava gave it: Strava's
    # handshake must show the token, and its events the id.
    strava_verify_token: SecretStr = SecretStr("")
    strava_subscription_id: str = Field(default="", pattern=r"^[0-9]*$", max_length=20)
    strava_oauth_base: str = "https://www.strava.com/oauth"
    strava_api_base: str = "https://www.strava.com/api/v3"

    # Fitbit (https://dev.fitbit.com/apps, a Server application): without a client id it is
    # not offered. The client secret also signs Fitbit's notifications.
    fitbit_client_id: str = Field(default="", max_length=32)
    fitbit_client_secret: SecretStr = SecretStr("")
    # The app's link Fitbit sends the member back to (`code`, `state`): the application's
    # registered Redirect URL.
    fitbit_redirect_uri: str = ""
    # The code Fitbit shows our subscriber endpoint when it is added (204 for it, 404 else).
    fitbit_verification_code: SecretStr = SecretStr("")
    fitbit_authorize_base: str = "https://www.fitbit.com"
    fitbit_api_base: str = "https://api.fitbit.com"

    # Garmin (Garmin Connect Developer Program, Health API with push): without a client id it
    # is not offered. Pushes name the client id; the secret stays with the token endpoint.
    garmin_client_id: str = Field(default="", max_length=64)
    garmin_client_secret: SecretStr = SecretStr("")
    # The app's link Garmin sends the member back to (`code`, `state`).
    garmin_redirect_uri: str = ""
    garmin_connect_base: str = "https://connect.garmin.com"
    garmin_auth_base: str = "https://diauth.garmin.com"
    garmin_api_base: str = "https://apis.garmin.com"

    # Webhooks' work (ADR 0009): a change nobody could import within a day is dropped; one
    # failing this many times goes to the dead letters.
    import_queue_max_age_seconds: float = Field(default=DAY_SECONDS, ge=60)
    import_max_deliveries: int = Field(default=6, ge=1, le=100)
    import_backoff_seconds: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)

    @model_validator(mode="after")
    def _providers_configured_whole(self) -> ActivitySettings:
        """A provider with a client id but no secret or redirect would fail every member who
        tries to connect; say so at start instead."""
        for provider, client_id, required in (
            (
                "STRAVA",
                self.strava_client_id,
                (
                    ("client_secret", self.strava_client_secret.get_secret_value()),
                    ("redirect_uri", self.strava_redirect_uri),
                ),
            ),
            (
                "FITBIT",
                self.fitbit_client_id,
                (
                    ("client_secret", self.fitbit_client_secret.get_secret_value()),
                    ("redirect_uri", self.fitbit_redirect_uri),
                    ("verification_code", self.fitbit_verification_code.get_secret_value()),
                ),
            ),
            (
                "GARMIN",
                self.garmin_client_id,
                (
                    ("client_secret", self.garmin_client_secret.get_secret_value()),
                    ("redirect_uri", self.garmin_redirect_uri),
                ),
            ),
        ):
            missing = [
                f"{ENV_PREFIX}{provider}_{name.upper()}" for name, value in required if not value
            ]
            if client_id and missing:
                raise ValueError(
                    f"{ENV_PREFIX}{provider}_CLIENT_ID is set: set {', '.join(missing)} too"
                )
        return self
