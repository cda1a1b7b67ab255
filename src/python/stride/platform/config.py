"""Service settings from the environment (STRIDE_*), validated before anything starts."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stride.platform.crypto.sealing import DataKeyring
from stride.platform.events.outbox import (
    DAY_SECONDS,
    DEFAULT_STREAM_LIMITS,
    DUPLICATE_WINDOW_SECONDS,
    StreamLimits,
)
from stride.platform.service_credentials import ServiceKey, ServiceTokenVerifier

ENV_PREFIX = "STRIDE_"


class ServiceSettings(BaseSettings):
    """What every service needs; each service subclasses it and sets `service_name`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    service_name: str
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0 disables /metrics")
    database_url: str
    nats_url: str = "nats://127.0.0.1:4222"
    events_prefix: str = Field(default="stride", pattern=r"^[a-z][a-z0-9_]*$")
    jwks_url: str | None = None
    jwks_file: Path | None = None
    jwt_issuer: str = "https://identity.stride.local"
    jwt_audience: str = "stride"
    # This service's own Ed25519 key (`kid:<base64>`), signing its calls to other services'
    # internal RPCs, and the public keys of the services it lets call its own
    # (`service:kid:<base64>,...`); see stride.platform.service_credentials.
    service_key: SecretStr | None = None
    trusted_service_keys: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    otlp_endpoint: str | None = None
    shutdown_grace_seconds: float = Field(default=10.0, gt=0)
    max_rpc_seconds: float = Field(default=30.0, gt=0, description="cap on any RPC's deadline")
    max_stream_seconds: float = Field(
        default=3600.0, gt=0, description="cap on a server stream; clients reconnect"
    )
    migrate_on_start: bool = True
    # Event retention (ADR 0009). Streams keep a week of events (more than the duplicate
    # window, so a relay's re-publish is still recognised); dead letters wait two weeks for
    # someone to look; an inbox row outlives any copy of its event a stream could redeliver.
    stream_max_age_seconds: float = Field(
        default=DEFAULT_STREAM_LIMITS.max_age_seconds, ge=DUPLICATE_WINDOW_SECONDS
    )
    dead_letter_max_age_seconds: float = Field(default=14 * DAY_SECONDS, ge=DAY_SECONDS)
    stream_max_bytes: int = Field(default=DEFAULT_STREAM_LIMITS.max_bytes, ge=1 << 20)
    outbox_retention_seconds: float = Field(default=7 * DAY_SECONDS, ge=DUPLICATE_WINDOW_SECONDS)
    inbox_retention_seconds: float = Field(default=8 * DAY_SECONDS, gt=0)
    # How long a mutation's response is kept for a retry with its request id (AIP-155): a
    # week covers a phone that queued the request offline over a long weekend; after it the
    # same request id is a new request.
    request_id_retention_seconds: float = Field(default=7 * DAY_SECONDS, ge=DAY_SECONDS)
    prune_every_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _inbox_outlives_the_streams(self) -> ServiceSettings:
        if self.inbox_retention_seconds < self.stream_max_age_seconds:
            raise ValueError(
                f"{ENV_PREFIX}INBOX_RETENTION_SECONDS must be at least"
                f" {ENV_PREFIX}STREAM_MAX_AGE_SECONDS, or a replayed event could be applied twice"
            )
        return self

    @property
    def stream_limits(self) -> StreamLimits:
        return StreamLimits(self.stream_max_age_seconds, self.stream_max_bytes)

    @property
    def dead_letter_limits(self) -> StreamLimits:
        return StreamLimits(self.dead_letter_max_age_seconds, self.stream_max_bytes)

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("service_key")
    @classmethod
    def _service_key_parses(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            ServiceKey.from_spec(value.get_secret_value())
        return value

    @field_validator("trusted_service_keys")
    @classmethod
    def _trusted_keys_parse(cls, value: str) -> str:
        ServiceTokenVerifier.from_spec("", value)
        return value

    @field_validator("nats_url")
    @classmethod
    def _nats_only(cls, value: str) -> str:
        if not value.startswith(("nats://", "tls://")):
            raise ValueError("must be a nats:// or tls:// URL")
        return value


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def load_settings(cls: type[SettingsT], env: Mapping[str, str] | None = None) -> SettingsT:
    """Reads settings or stops the process with one line per bad or missing variable."""
    try:
        if env is None:
            return cls()  # type: ignore[call-arg]  # Required fields come from the environment.
        prefixed = {
            key[len(ENV_PREFIX) :].lower(): value
            for key, value in env.items()
            if key.startswith(ENV_PREFIX)
        }
        return cls.model_validate(prefixed)
    except ValidationError as error:
        for problem in error.errors():
            if not problem["loc"]:  # A rule over several variables names them itself.
                print(f"configuration error: {problem['msg']}", file=sys.stderr)
                continue
            variable = ENV_PREFIX + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"configuration error: {variable}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


class WithDataKeys(ServiceSettings):
    """Settings of a service that seals secrets at rest (AES-256-GCM data keys)."""

    # `id:<base64 key>,...`; the active one seals new values, all of them open old ones.
    data_keys: str = Field(min_length=1)
    data_key_active: str = Field(min_length=1)


class WithEventSecrets(ServiceSettings):
    """Settings of a service that seals the secrets events carry (Identity) or opens them
    (Notifications): AES-256-GCM keys only those two hold, apart from their data keys, so a
    token in an event is readable nowhere else (stride.platform.events.secrets)."""

    # `id:<base64 key>,...` as STRIDE_DATA_KEYS. To rotate, add a key to every holder, then
    # make it active: an opener must know a key before a sealer uses it.
    event_secret_keys: SecretStr = Field(min_length=1)
    event_secret_key_active: str = Field(min_length=1)

    @model_validator(mode="after")
    def _event_secret_keys_usable(self) -> WithEventSecrets:
        try:
            self.event_secrets()
        except ValueError as error:  # Bad base64, a short key, an unknown active id.
            raise ValueError(f"{ENV_PREFIX}EVENT_SECRET_KEYS: {error}") from None
        return self

    def event_secrets(self) -> DataKeyring:
        return DataKeyring.from_spec(
            self.event_secret_keys.get_secret_value(), self.event_secret_key_active
        )
