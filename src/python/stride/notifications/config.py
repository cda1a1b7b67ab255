"""Notifications' settings (environment variables prefixed STRIDE_)."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from stride.notifications.domain.limits import (
    DEFAULT_REFUSED_TEXT_PREFIXES,
    DEFAULT_TEXT_COUNTRY_CODES,
    SendLimits,
)
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
    # Where texts may go (a JSON list of E.164 country codes, e.g. ["966", "971"]) and the
    # ranges inside them that never get one (premium rate: ["+1900", "+449"]): a number
    # elsewhere is refused when a member gives it.
    sms_country_codes: list[str] = Field(default_factory=lambda: sorted(DEFAULT_TEXT_COUNTRY_CODES))
    sms_refused_prefixes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REFUSED_TEXT_PREFIXES)
    )
    # Texts a member (notifications and the codes they ask for), and a verified number
    # (notifications), get in a UTC day; the rest reach the inbox and devices only.
    sms_per_member_per_day: int = Field(default=10, ge=1)
    sms_per_number_per_day: int = Field(default=10, ge=1)
    # Verification codes a member may ask to be texted in an hour, and one number may be sent
    # in a UTC day (counted apart from its texts, which codes for it cannot use up).
    phone_codes_per_member_per_hour: int = Field(default=3, ge=1)
    phone_codes_per_number_per_day: int = Field(default=5, ge=1)
    # Identity's emails (verification, password reset, address change) one address gets in
    # an hour; the rest are not sent.
    account_emails_per_address_per_hour: int = Field(default=5, ge=1)
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

    @field_validator("sms_country_codes")
    @classmethod
    def _country_codes(cls, value: list[str]) -> list[str]:
        if not all(code.isascii() and code.isdigit() and 1 <= len(code) <= 3 for code in value):
            raise ValueError("must be E.164 country codes: one to three digits, no +")
        return value

    @field_validator("sms_refused_prefixes")
    @classmethod
    def _number_prefixes(cls, value: list[str]) -> list[str]:
        if not all(
            len(p) > 1 and p[0] == "+" and p[1:].isascii() and p[1:].isdigit() for p in value
        ):
            raise ValueError("must be number prefixes in E.164, such as +1900")
        return value

    def send_limits(self) -> SendLimits:
        return SendLimits(
            text_country_codes=frozenset(self.sms_country_codes),
            refused_text_prefixes=tuple(self.sms_refused_prefixes),
            texts_per_member_per_day=self.sms_per_member_per_day,
            texts_per_number_per_day=self.sms_per_number_per_day,
            phone_codes_per_member_per_hour=self.phone_codes_per_member_per_hour,
            phone_codes_per_number_per_day=self.phone_codes_per_number_per_day,
            account_emails_per_address_per_hour=self.account_emails_per_address_per_hour,
        )

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
