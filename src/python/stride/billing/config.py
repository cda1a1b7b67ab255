"""Billing's settings (environment variables prefixed STRIDE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from stride.platform.config import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: str = "billing"
    grpc_port: int = 50103
    # Stripe's secret key (`sk_…`) and the signing secret of our webhook endpoint (`whsec_…`).
    stripe_api_key: SecretStr
    stripe_webhook_secret: SecretStr
    # Stripe's API address: unset in production; localstripe's locally and in tests.
    stripe_api_base: str | None = None
    # How old a webhook's signed timestamp may be (replay window), as Stripe recommends.
    stripe_webhook_tolerance_seconds: int = Field(default=300, gt=0)
    # Tabby (buy now, pay later): its API address, secret key and our merchant code; financing
    # is off while the address is unset. The app handles the return deep link.
    financing_api_base: str | None = None
    financing_secret_key: SecretStr = SecretStr("")
    financing_merchant_code: str = ""
    financing_return_url: str = "stride://purchases/financing"
    # How often the renewer looks for subscriptions due, and refunds left pending are
    # completed (several replicas may run both).
    renew_every_seconds: float = Field(default=60.0, gt=0)
    # How often late-cancel and no-show fees recorded since are charged.
    collect_fees_every_seconds: float = Field(default=15.0, gt=0)
    # Scheduling's gRPC address: the hold reconciler asks it, with this service's own key
    # (STRIDE_SERVICE_KEY), which bookings exist, and gives back the credits of those that were
    # never made. Unset, nothing is reconciled.
    scheduling_target: str | None = None
    reconcile_holds_every_seconds: float = Field(default=60.0, gt=0)
    # A TrueType font with Arabic and Latin letters for PDF receipts; unset, DejaVu Sans from
    # the installed matplotlib wheel.
    receipt_font: Path | None = None

    @model_validator(mode="after")
    def _reconciler_has_a_key(self) -> BillingSettings:
        if self.scheduling_target is not None and self.service_key is None:
            raise ValueError("STRIDE_SCHEDULING_TARGET needs STRIDE_SERVICE_KEY to call it with")
        return self

    @field_validator("stripe_api_key")
    @classmethod
    def _secret_key(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("sk_", "rk_")):
            raise ValueError("must be a Stripe secret or restricted key (sk_… or rk_…)")
        return value

    @field_validator("stripe_api_base", "financing_api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL")
        return value
