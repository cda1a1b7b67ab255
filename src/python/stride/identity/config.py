"""Identity's settings (environment variables prefixed STRIDE_)."""

from stride.platform.config import ServiceSettings


class IdentitySettings(ServiceSettings):
    service_name: str = "identity"
    grpc_port: int = 50101
