"""Service settings from the environment (STRIDE_*), validated before anything starts."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
            variable = ENV_PREFIX + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"configuration error: {variable}: {problem['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


class WithDataKeys(ServiceSettings):
    """Settings of a service that seals secrets at rest (AES-256-GCM data keys)."""

    # `id:<base64 key>,...`; the active one seals new values, all of them open old ones.
    data_keys: str = Field(min_length=1)
    data_key_active: str = Field(min_length=1)
