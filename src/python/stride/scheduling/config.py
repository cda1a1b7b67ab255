"""Scheduling's settings (environment variables prefixed STRIDE_)."""

from pydantic import SecretStr

from stride.platform.config import WithDataKeys


class SchedulingSettings(WithDataKeys):
    """Check-in codes are signed with a key derived from the active data key."""

    service_name: str = "scheduling"
    grpc_port: int = 50102
    # Billing's gRPC address: credits are held there when members book, with this service's
    # own credential (Billing's hold RPCs are internal).
    billing_target: str = "127.0.0.1:50103"
    service_key: SecretStr
