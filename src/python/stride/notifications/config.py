"""Notifications' settings (environment variables prefixed STRIDE_)."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from stride.platform.config import WithDataKeys, WithEventSecrets


class NotificationsSettings(WithDataKeys, WithEventSecrets):
    """Data keys seal email bodies at rest; event-secret keys open the tokens Identity's events
    carry sealed."""

    service_name: str = "notifications"
    grpc_port: int = 50104
    # Firebase Cloud Messaging (HTTP v1): the project, and a service account's JSON key with the
    # `cloudmessaging` role. Push is off while the key is unset; the inbox still fills.
    fcm_project_id: str = ""
    fcm_service_account_file: Path | None = None
    # FCM's API address: unset in production; a local server speaking it in tests.
    fcm_api_base: str = "https://fcm.googleapis.com"
    # Email through an SMTP relay (STARTTLS when offered); email is off while the host is unset.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True
    email_from: str = "Stride <no-reply@stride.app>"
    # Text messages through Twilio's REST API; texting is off while the account is unset.
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_api_base: str = "https://api.twilio.com"
    sms_from: str = ""  # The Twilio number texts come from, in E.164.
    # The public address of the edge, for links in messages.
    public_base_url: str = "https://api.stride.app"
    # Signs the unsubscribe links of marketing emails (32 characters or more). Marketing email
    # is off while it (or the SMTP relay) is unset; changing it breaks the links already sent.
    unsubscribe_secret: SecretStr = SecretStr("")
    # The app's page where a reader confirms unsubscribing (a GET must not unsubscribe: mail
    # scanners follow links); mail apps use the one-click endpoint instead.
    unsubscribe_page_url: str = "https://stride.app/unsubscribe"
    # How often the senders look for pushes and emails due (several replicas may run them).
    send_every_seconds: float = Field(default=1.0, gt=0)

    @field_validator("unsubscribe_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if 0 < len(value.get_secret_value()) < 32:
            raise ValueError("must be 32 characters or more")
        return value

    @field_validator("fcm_api_base", "twilio_api_base", "public_base_url", "unsubscribe_page_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL")
        return value
