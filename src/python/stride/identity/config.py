"""Identity's settings (environment variables prefixed STRIDE_)."""

from pydantic import Field

from stride.identity.adapters.oidc import ProviderConfig
from stride.platform.config import WithDataKeys, WithEventSecrets


class IdentitySettings(WithDataKeys, WithEventSecrets):
    """Data keys seal the private signing keys and the MFA secrets; event-secret keys seal the
    tokens of the links Notifications emails."""

    service_name: str = "identity"
    grpc_port: int = 50101
    # Longer than any JWKS cache (Envoy's is 5 minutes), so a new key is everywhere before it
    # signs anything.
    signing_key_publish_ahead_seconds: float = Field(default=600.0, ge=0)
    # Social sign-in providers by name (`google`, `apple`, `facebook`), as JSON:
    # {"google": {"issuer": "https://accounts.google.com", "jwks_uri": "...", "client_ids": [...]}}
    social_providers: dict[str, ProviderConfig] = Field(default_factory=dict)
