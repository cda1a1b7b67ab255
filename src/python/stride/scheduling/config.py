"""Scheduling's settings (environment variables prefixed STRIDE_)."""

from stride.platform.config import WithDataKeys


class SchedulingSettings(WithDataKeys):
    """Check-in codes are signed with a key derived from the active data key."""

    service_name: str = "scheduling"
    grpc_port: int = 50102
