"""The probe service (protos/stride/platform/probe) served by the platform's real gRPC server, with
access tokens and service credentials of the tests' own, for the platform kit's tests."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519

from stride.platform.auth import (
    JwksSource,
    JwtVerifier,
    current_caller_service,
    current_principal,
)
from stride.platform.config import ServiceSettings
from stride.platform.grpc.server import GrpcApp, Hook, RunningServer, ServiceRegistration, start
from stride.platform.i18n import current_locale
from stride.platform.probe.v1 import probe_service_pb2 as pb
from stride.platform.probe.v1 import probe_service_pb2_grpc as pb_grpc
from stride.platform.service_credentials import new_service_key_spec, trusted_key_entry

SERVICE = "stride.platform.probe.v1.ProbeService"
ISSUER, AUDIENCE = "https://identity.stride.local", "stride"
ACCESS_KEY = ed25519.Ed25519PrivateKey.generate()
JWKS = {
    "keys": [
        {
            **json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(ACCESS_KEY.public_key())),
            "kid": "k1",
            "alg": "EdDSA",
        }
    ]
}
# The service the probe's internal RPC admits, and one it trusts but does not admit.
CALLER_KEY = new_service_key_spec("caller-1")
OTHER_SERVICE_KEY = new_service_key_spec("other-1")


def access_token(sub: str = "user-1", roles: tuple[str, ...] = ("member",), **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "roles": list(roles),
            "iat": now,
            "exp": now + 60,
            **claims,
        },
        ACCESS_KEY,
        algorithm="EdDSA",
        headers={"kid": "k1", "typ": "at+jwt"},
    )


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


class AnsweringProbe(pb_grpc.ProbeServiceServicer):
    """Answers every RPC with who called, so a test sees what got through."""

    async def Echo(self, request: pb.EchoRequest, context: Any) -> pb.EchoResponse:  # noqa: N802
        return pb.EchoResponse(language_code=current_locale())

    async def WhoAmI(  # noqa: N802
        self, request: pb.WhoAmIRequest, context: Any
    ) -> pb.WhoAmIResponse:
        return pb.WhoAmIResponse(user=f"users/{current_principal().user_id}")

    async def GetOwned(  # noqa: N802
        self, request: pb.GetOwnedRequest, context: Any
    ) -> pb.WhoAmIResponse:
        return pb.WhoAmIResponse(user=f"users/{current_principal().user_id}")

    async def WatchOwned(  # noqa: N802
        self, request: pb.WatchOwnedRequest, context: Any
    ) -> AsyncIterator[pb.WhoAmIResponse]:
        yield pb.WhoAmIResponse(user=f"users/{current_principal().user_id}")

    async def ManageStudio(  # noqa: N802
        self, request: pb.ManageStudioRequest, context: Any
    ) -> pb.WhoAmIResponse:
        return pb.WhoAmIResponse(user=f"users/{current_principal().user_id}")

    async def CallInternally(  # noqa: N802
        self, request: pb.CallInternallyRequest, context: Any
    ) -> pb.CallInternallyResponse:
        return pb.CallInternallyResponse(caller=current_caller_service())


def probe_settings(**overrides: Any) -> ServiceSettings:
    defaults: dict[str, Any] = {
        "service_name": "probe",
        "database_url": "postgresql://unused/x",
        "grpc_port": 0,
        "shutdown_grace_seconds": 5,
        "trusted_service_keys": ",".join(
            [trusted_key_entry("caller", CALLER_KEY), trusted_key_entry("other", OTHER_SERVICE_KEY)]
        ),
    }
    return ServiceSettings(**{**defaults, **overrides})


async def start_probe(
    servicer: pb_grpc.ProbeServiceServicer, on_start: Sequence[Hook] = (), **overrides: Any
) -> RunningServer:
    """The probe service served on a free port; `overrides` are settings."""
    return await start(
        GrpcApp(
            settings=probe_settings(**overrides),
            services=[
                ServiceRegistration(SERVICE, pb_grpc.add_ProbeServiceServicer_to_server, servicer)
            ],
            verifier=JwtVerifier(JwksSource(document=JWKS), issuer=ISSUER, audience=AUDIENCE),
            on_start=on_start,
        )
    )


def probe_client(running: RunningServer) -> tuple[grpc.aio.Channel, Any]:
    """A client; typed Any because the generated stub types only the synchronous API."""
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    return channel, pb_grpc.ProbeServiceStub(channel)
