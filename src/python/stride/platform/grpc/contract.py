"""What a service's contract says of each RPC, read once from the generated descriptors: who may
call it (`stride.api.v1.access`) and what its request may hold (`stride.api.v1.bounds`).

The interceptor, the edge's route table, the REST contract and the exposure test all read the
same options, so a method's audience is written once, beside its `google.api.http` rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from stride.api.v1 import access_pb2


class Audience(Enum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    OWNER = "owner"
    STAFF = "staff"
    INTERNAL = "internal"


@dataclass(frozen=True)
class AccessRule:
    audience: Audience
    owner_field: str = ""  # OWNER: request field naming a resource under `users/{user}`.
    studio_field: str = ""  # STAFF: request field naming `studios/{studio}` (or under it).
    roles: frozenset[str] = frozenset()  # OWNER: who acts for anyone; STAFF: who may call.
    callers: frozenset[str] = frozenset()  # INTERNAL: the services allowed to call.


@dataclass(frozen=True)
class MethodContract:
    path: str  # `/stride.billing.v1.BillingService/HoldCredit`
    descriptor: MethodDescriptor
    access: AccessRule

    @property
    def http_rule(self) -> http_pb2.HttpRule | None:
        """The method's `google.api.http` rule, if the edge serves it over REST."""
        options = self.descriptor.GetOptions()
        if not options.HasExtension(annotations_pb2.http):
            return None
        return options.Extensions[annotations_pb2.http]


class ContractError(ValueError):
    """A contract that does not say what the platform needs (e.g. an RPC without an audience)."""


def access_rule(method: MethodDescriptor) -> AccessRule:
    options = method.GetOptions()
    if not options.HasExtension(access_pb2.access):
        raise ContractError(f"{method.full_name} declares no (stride.api.v1.access) audience")
    access = options.Extensions[access_pb2.access]
    kind = access.WhichOneof("audience")
    if kind == "public":
        return AccessRule(Audience.PUBLIC)
    if kind == "signed_in":
        return AccessRule(Audience.SIGNED_IN)
    if kind == "owner":
        _check_field(method, access.owner.owner_field)
        return AccessRule(
            Audience.OWNER,
            owner_field=access.owner.owner_field,
            roles=frozenset(access.owner.roles),
        )
    if kind == "staff":
        if not access.staff.roles:
            raise ContractError(f"{method.full_name}: staff access names no roles")
        if access.staff.studio_field:
            _check_field(method, access.staff.studio_field)
        return AccessRule(
            Audience.STAFF,
            studio_field=access.staff.studio_field,
            roles=frozenset(access.staff.roles),
        )
    if kind == "internal":
        if not access.internal.callers:
            raise ContractError(f"{method.full_name}: internal access names no callers")
        if options.HasExtension(annotations_pb2.http):
            raise ContractError(f"{method.full_name} is internal: it must have no REST mapping")
        return AccessRule(Audience.INTERNAL, callers=frozenset(access.internal.callers))
    raise ContractError(f"{method.full_name} declares an empty (stride.api.v1.access)")


def _check_field(method: MethodDescriptor, path: str) -> None:
    """The named field exists and holds a string (a resource name)."""
    message = method.input_type
    parts = path.split(".") if path else []
    for position, part in enumerate(parts):
        field = message.fields_by_name.get(part)
        if field is None:
            raise ContractError(f"{method.full_name}: no request field {path!r}")
        if position < len(parts) - 1:
            if field.message_type is None:
                raise ContractError(f"{method.full_name}: {path!r} goes through a scalar")
            message = field.message_type
        elif field.type != field.TYPE_STRING:
            raise ContractError(f"{method.full_name}: {path!r} is not a string field")
    if not parts:
        raise ContractError(f"{method.full_name}: access names no request field")


def service_descriptor(full_name: str) -> ServiceDescriptor:
    """A gRPC service's descriptor from the generated code imported in this process."""
    return descriptor_pool.Default().FindServiceByName(full_name)


def method_contracts(services: Iterable[ServiceDescriptor]) -> dict[str, MethodContract]:
    """Every RPC of `services` by gRPC path; refuses a contract with an RPC lacking access."""
    return {
        f"/{service.full_name}/{method.name}": MethodContract(
            f"/{service.full_name}/{method.name}", method, access_rule(method)
        )
        for service in services
        for method in service.methods
    }


def field_value(message: object, path: str) -> str:
    """The string at a dotted field path of a request ("" where a message on the way is unset)."""
    value: object = message
    for part in path.split("."):
        value = getattr(value, part)
    return value if isinstance(value, str) else ""
