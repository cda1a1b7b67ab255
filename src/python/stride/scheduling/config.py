"""Scheduling's settings (environment variables prefixed STRIDE_)."""

from stride.platform.config import ServiceSettings


class SchedulingSettings(ServiceSettings):
    service_name: str = "scheduling"
    grpc_port: int = 50102
