"""Notifications' settings (environment variables prefixed STRIDE_)."""

from pathlib import Path

from pydantic import Field, field_validator

from stride.platform.config import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
    grpc_port: int = 50104
    # Firebase Cloud Messaging (HTTP v1): the project, and a service account's JSON key with the
    # `cloudmessaging` role. Push is off while the key is unset; the inbox still fills.
    fcm_project_id: str = ""
    fcm_service_account_file: Path | None = None
    # FCM's API address: unset in production; a local server speaking it in tests.
    fcm_api_base: str = "https://fcm.googleapis.com"
    # How often the sender looks for pushes due (several replicas may run it).
    send_every_seconds: float = Field(default=1.0, gt=0)

    @field_validator("fcm_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL")
        return value
