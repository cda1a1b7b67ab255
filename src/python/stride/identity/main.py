"""Identity service process: `python -m stride.identity.main` (settings from STRIDE_* env)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from stride.identity.adapters.access_tokens import AccessTokenIssuer
from stride.identity.adapters.oidc import OidcVerifier
from stride.identity.adapters.pruning import prune_identity_tables
from stride.identity.adapters.signing_keys import SigningKeys
from stride.identity.config import IdentitySettings
from stride.identity.entrypoints.app_links import AppLinks
from stride.identity.entrypoints.grpc_servicer import IdentityServicer
from stride.identity.service_layer import password_reset
from stride.identity.service_layer.common import PASSWORD_RESET_ASKED
from stride.identity.service_layer.unit_of_work import SOURCE, IdentityUnitOfWork
from stride.identity.v1 import identity_service_pb2_grpc as pb_grpc
from stride.platform.auth import JwksSource, JwtVerifier
from stride.platform.clock import Clock, utcnow
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.grpc.server import GrpcApp, ServiceRegistration
from stride.platform.service import foundation, run_service
from stride.platform.tasks import Periodic

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
SERVICE_NAME = "stride.identity.v1.IdentityService"


async def build_app(settings: IdentitySettings, clock: Clock = utcnow) -> GrpcApp:
    """Identity's server; every use case and the signing keys read `clock`."""
    base = foundation(settings, SOURCE, MIGRATIONS)
    sessions = base.sessions
    data_keys = DataKeyring.from_spec(settings.data_keys, settings.data_key_active)
    signing_keys = SigningKeys(
        sessions,
        data_keys,
        publish_ahead=timedelta(seconds=settings.signing_key_publish_ahead_seconds),
        clock=clock,
    )
    issuer = AccessTokenIssuer(
        signing_keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    new_uow = partial(IdentityUnitOfWork, sessions, data_keys, settings.event_secrets())
    # Password-reset requests are answered before the link is made (see
    # password_reset.request_password_reset); Identity makes it from its own event.
    reset_links = base.consumer(
        new_uow,
        partial(password_reset.issue_password_reset, clock=clock),
        source=SOURCE,
        event_type=PASSWORD_RESET_ASKED,
        durable_name="identity-password-reset-asked",
    )
    pruner = Periodic(
        "prune-identity-records",
        settings.prune_every_seconds,
        lambda: prune_identity_tables(
            sessions, clock(), timedelta(seconds=settings.account_link_retention_seconds)
        ),
    )
    # Identity verifies the tokens it issued against its own key table, not over HTTP.
    verifier = JwtVerifier(
        JwksSource(loader=signing_keys.jwks, ttl_seconds=30.0, refresh_cooldown=1.0),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )

    return GrpcApp(
        settings=settings,
        services=[
            ServiceRegistration(
                SERVICE_NAME,
                pb_grpc.add_IdentityServiceServicer_to_server,
                IdentityServicer(
                    new_uow,
                    signing_keys,
                    issuer,
                    OidcVerifier(settings.social_providers),
                    clock,
                    AppLinks(
                        tuple(settings.apple_app_ids),
                        settings.android_app_package,
                        tuple(settings.android_app_fingerprints),
                    ),
                ),
            )
        ],
        on_start=[*base.on_start, signing_keys.ensure_key, reset_links.start, pruner.start],
        # Run in reverse: before the engine goes.
        on_stop=[*base.on_stop, reset_links.stop, pruner.stop],
        verifier=verifier,
    )


def main() -> None:
    run_service(IdentitySettings, build_app)


if __name__ == "__main__":
    main()
