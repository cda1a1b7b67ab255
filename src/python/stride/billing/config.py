"""Billing's settings (environment variables prefixed STRIDE_)."""

from stride.platform.config import ServiceSettings


class BillingSettings(ServiceSettings):
    service_name: str = "billing"
    grpc_port: int = 50103
