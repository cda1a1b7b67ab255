"""Every Stride service, once: how the deployment runs it. The local stack, Envoy's routes,
clusters, health checks and descriptor set are all derived from this list, and who may call each
RPC from the services' own contracts (`stride.api.v1.access`): adding a service is adding one
entry. The catalog depends on the services' contracts, never the services on the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from google.protobuf.descriptor import FileDescriptor

from stride.activity.v1 import activity_service_pb2
from stride.billing.v1 import billing_service_pb2
from stride.identity.v1 import identity_service_pb2
from stride.notifications.v1 import notifications_service_pb2
from stride.platform.grpc.contract import (
    Audience,
    MethodContract,
    method_contracts,
    service_descriptor,
)
from stride.scheduling.v1 import scheduling_service_pb2


@dataclass(frozen=True)
class ServiceEntry:
    name: str  # Short name: database `stride_<name>`, cluster `<name>`, logs `<name>.log`.
    main_module: str  # `python -m <main_module>` runs the service.
    grpc_services: tuple[str, ...]  # Full names, for routing and health checks.
    descriptors: tuple[FileDescriptor, ...]  # Proto files whose RPCs Envoy transcodes to REST.
    local_port: int  # gRPC port in the local stack.
    metrics_port: int
    # Throttled at the edge per client address (credential guessing, sign-up spam), beside the
    # service's own limits.
    rate_limited_methods: frozenset[str] = frozenset()
    # Throttled per client address too, with the edge's generous session-refresh buckets.
    session_refresh_methods: frozenset[str] = frozenset()
    # Server-streaming RPCs whose REST form is Server-Sent Events (`text/event-stream`, one
    # `data:` line per message) for browsers' EventSource and SSE clients; the others stream
    # one JSON array.
    event_stream_methods: frozenset[str] = frozenset()

    @cached_property
    def contracts(self) -> dict[str, MethodContract]:
        """Every RPC by gRPC path, with who may call it."""
        return method_contracts(service_descriptor(name) for name in self.grpc_services)

    def methods_for(self, *audiences: Audience) -> list[MethodContract]:
        return [c for c in self.contracts.values() if c.access.audience in audiences]

    @property
    def edge_methods(self) -> list[MethodContract]:
        """What the edge routes: everything but the internal RPCs."""
        return [c for c in self.contracts.values() if c.access.audience is not Audience.INTERNAL]


IDENTITY = ServiceEntry(
    name="identity",
    main_module="stride.identity.main",
    grpc_services=("stride.identity.v1.IdentityService",),
    descriptors=(identity_service_pb2.DESCRIPTOR,),
    local_port=50101,
    metrics_port=9101,
    rate_limited_methods=frozenset(
        f"/stride.identity.v1.IdentityService/{method}"
        for method in (
            "SignUp",
            "ResendEmailVerification",
            "VerifyEmail",
            "OpenEmailVerificationLink",
            "SignIn",
            "SignInWithProvider",
            "RequestPasswordReset",
            "CompletePasswordReset",
            "RevertEmailChange",
        )
    ),
    session_refresh_methods=frozenset({"/stride.identity.v1.IdentityService/RefreshSession"}),
)

SCHEDULING = ServiceEntry(
    name="scheduling",
    main_module="stride.scheduling.main",
    grpc_services=("stride.scheduling.v1.SchedulingService",),
    descriptors=(scheduling_service_pb2.DESCRIPTOR,),
    local_port=50102,
    metrics_port=9102,
)

BILLING = ServiceEntry(
    name="billing",
    main_module="stride.billing.main",
    grpc_services=("stride.billing.v1.BillingService",),
    descriptors=(billing_service_pb2.DESCRIPTOR,),
    local_port=50103,
    metrics_port=9103,
)

NOTIFICATIONS = ServiceEntry(
    name="notifications",
    main_module="stride.notifications.main",
    grpc_services=("stride.notifications.v1.NotificationsService",),
    descriptors=(notifications_service_pb2.DESCRIPTOR,),
    local_port=50104,
    metrics_port=9104,
)

ACTIVITY = ServiceEntry(
    name="activity",
    main_module="stride.activity.main",
    grpc_services=("stride.activity.v1.ActivityService",),
    descriptors=(activity_service_pb2.DESCRIPTOR,),
    local_port=50105,
    metrics_port=9105,
    event_stream_methods=frozenset(
        f"/stride.activity.v1.ActivityService/{method}"
        for method in ("WatchWorkoutSession", "WatchClassHeartRates")
    ),
)

SERVICES: tuple[ServiceEntry, ...] = (IDENTITY, SCHEDULING, BILLING, NOTIFICATIONS, ACTIVITY)
