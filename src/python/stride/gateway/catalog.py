"""Every Stride service, once. The local stack, Envoy's routes, clusters, health checks and
descriptor set are all derived from this list: adding a service is adding one entry."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.descriptor import FileDescriptor, MethodDescriptor

from stride.billing.v1 import billing_service_pb2
from stride.identity.v1 import identity_service_pb2
from stride.notifications.v1 import notifications_service_pb2
from stride.scheduling.v1 import scheduling_service_pb2


@dataclass(frozen=True)
class ServiceEntry:
    name: str  # Short name: database `stride_<name>`, cluster `<name>`, logs `<name>.log`.
    main_module: str  # `python -m <main_module>` runs the service.
    grpc_services: tuple[str, ...]  # Full names, for routing and health checks.
    descriptors: tuple[FileDescriptor, ...]  # Proto files whose RPCs Envoy transcodes to REST.
    local_port: int  # gRPC port in the local stack.
    metrics_port: int
    public_methods: frozenset[str] = frozenset()  # Callable without an access token.
    # Throttled at the edge (credential guessing, sign-up spam), beside the service's own limits.
    rate_limited_methods: frozenset[str] = frozenset()

    def method(self, path: str) -> MethodDescriptor:
        """`/pkg.Service/Method` → its descriptor."""
        service_name, _, method_name = path.lstrip("/").partition("/")
        for file in self.descriptors:
            for service in file.services_by_name.values():
                if service.full_name == service_name and method_name in service.methods_by_name:
                    return service.methods_by_name[method_name]
        raise KeyError(f"{self.name}: no method {path}")

    @property
    def package_prefix(self) -> str:
        """`/stride.identity.v1.` — the gRPC path prefix routed to this service."""
        packages = {name.rsplit(".", 1)[0] for name in self.grpc_services}
        if len(packages) != 1:
            raise ValueError(f"{self.name}: services must share one proto package")
        return f"/{packages.pop()}."


IDENTITY = ServiceEntry(
    name="identity",
    main_module="stride.identity.main",
    grpc_services=("stride.identity.v1.IdentityService",),
    descriptors=(identity_service_pb2.DESCRIPTOR,),
    local_port=50101,
    metrics_port=9101,
    public_methods=frozenset(
        f"/stride.identity.v1.IdentityService/{method}"
        for method in (
            "SignUp",
            "VerifyEmail",
            "OpenEmailVerificationLink",
            "SignIn",
            "SignInWithProvider",
            "RefreshSession",
            "GetJwks",
            "GetAppleAppSiteAssociation",
            "GetAssetLinks",
            "RequestPasswordReset",
            "OpenPasswordResetLink",
            "CompletePasswordReset",
            "ConfirmEmailChange",
        )
    ),
    rate_limited_methods=frozenset(
        f"/stride.identity.v1.IdentityService/{method}"
        for method in (
            "SignUp",
            "VerifyEmail",
            "OpenEmailVerificationLink",
            "SignIn",
            "SignInWithProvider",
            "RefreshSession",
            "RequestPasswordReset",
            "CompletePasswordReset",
        )
    ),
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
    # Stripe signs its webhooks instead; the service checks the signature.
    public_methods=frozenset({"/stride.billing.v1.BillingService/ReceiveStripeEvent"}),
)

NOTIFICATIONS = ServiceEntry(
    name="notifications",
    main_module="stride.notifications.main",
    grpc_services=("stride.notifications.v1.NotificationsService",),
    descriptors=(notifications_service_pb2.DESCRIPTOR,),
    local_port=50104,
    metrics_port=9104,
    # Unsubscribe links carry a signed token instead; the service checks it.
    public_methods=frozenset({"/stride.notifications.v1.NotificationsService/Unsubscribe"}),
)

SERVICES: tuple[ServiceEntry, ...] = (IDENTITY, SCHEDULING, BILLING, NOTIFICATIONS)
