"""Activity's settings (environment variables prefixed STRIDE_)."""

from stride.platform.config import ServiceSettings


class ActivitySettings(ServiceSettings):
    service_name: str = "activity"
    grpc_port: int = 50105
    # Where exercise images and videos are served from: the library names files under it.
    media_base_url: str = "https://media.stride.app"
