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

    # Webhooks' work (ADR 0009): a change nobody could import within a day is dropped; one
    # failing this many times goes to the dead letters.
    import_queue_max_age_seconds: float = Field(default=DAY_SECONDS, ge=60)
    import_max_deliveries: int = Field(default=6, ge=1, le=100)
    import_backoff_seconds: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)

    @model_validator(mode="after")
    def _strava_configured_whole(self) -> ActivitySettings:
        """Strava with a client id but no secret or redirect would fail every member who tries
        to connect; say so at start instead."""
        if self.strava_client_id:
            missing = [
                f"{ENV_PREFIX}STRAVA_{name.upper()}"
                for name, value in (
                    ("client_secret", self.strava_client_secret.get_secret_value()),
                    ("redirect_uri", self.strava_redirect_uri),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"{ENV_PREFIX}STRAVA_CLIENT_ID is set: set {', '.join(missing)} too"
                )
        return self
