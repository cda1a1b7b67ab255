"""Identity's settings (environment variables prefixed STRIDE_)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from stride.identity.adapters.oidc import ProviderConfig
from stride.platform.config import WithDataKeys, WithEventSecrets

_APPLE_APP_ID = re.compile(r"^[A-Z0-9]{10}\.[A-Za-z0-9][A-Za-z0-9.-]*$")
_ANDROID_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
_SHA256_FINGERPRINT = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")


def _all_matching(pattern: re.Pattern[str], values: list[str], what: str) -> list[str]:
    wrong = [value for value in values if not pattern.match(value)]
    if wrong:
        raise ValueError(f"not {what}: {', '.join(wrong)}")
    return values


class IdentitySettings(WithDataKeys, WithEventSecrets):
    """Data keys seal the private signing keys and the MFA secrets; event-secret keys seal the
    tokens of the links Notifications emails."""

    service_name: str = "identity"
    grpc_port: int = 50101
    # Longer than any JWKS cache (Envoy's is 5 minutes), so a new key is everywhere before it
    # signs anything.
    signing_key_publish_ahead_seconds: float = Field(default=600.0, ge=0)
    # How long emailed links (verification, password reset, email change and its revert) are
    # kept after they expire: a late click is told "expired", then the rows, which hold
    # addresses, go (pruned every STRIDE_PRUNE_EVERY_SECONDS).
    account_link_retention_seconds: float = Field(default=7 * 24 * 3600.0, ge=0)
    # Social sign-in providers by name (`google`, `apple`, `facebook`), as JSON:
    # {"google": {"issuer": "https://accounts.google.com", "jwks_uri": "...", "client_ids": [...]}}
    social_providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    # The apps that open the account links (/verify-email, /password-reset,
    # /confirm-email-change) when installed, published at /.well-known/ (JSON lists): iOS app
    # ids `<Team ID>.<bundle id>` for apple-app-site-association, and the Android package with
    # the SHA-256 fingerprints of its signing certificates (`AB:CD:…`) for assetlinks.json.
    apple_app_ids: list[str] = Field(default_factory=list)
    android_app_package: str = ""
    android_app_fingerprints: list[str] = Field(default_factory=list)

    @field_validator("apple_app_ids")
    @classmethod
    def _apple_app_ids(cls, value: list[str]) -> list[str]:
        return _all_matching(_APPLE_APP_ID, value, "<Team ID>.<bundle id>")

    @field_validator("android_app_package")
    @classmethod
    def _android_package(cls, value: str) -> str:
        _all_matching(_ANDROID_PACKAGE, [value] if value else [], "an Android package name")
        return value

    @field_validator("android_app_fingerprints")
    @classmethod
    def _fingerprints(cls, value: list[str]) -> list[str]:
        return _all_matching(_SHA256_FINGERPRINT, value, "a SHA-256 fingerprint (AB:CD:…)")

    @model_validator(mode="after")
    def _android_app_whole(self) -> IdentitySettings:
        if bool(self.android_app_package) != bool(self.android_app_fingerprints):
            raise ValueError(
                "STRIDE_ANDROID_APP_PACKAGE and STRIDE_ANDROID_APP_FINGERPRINTS go together"
            )
        return self
