"""What every service's contract must say for the platform to protect it: an audience per RPC
and a range for every number a request carries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from stride.gateway.catalog import SERVICES
from stride.platform.grpc.contract import Audience, MethodContract
from stride.platform.grpc.request_limits import field_bounds

CONTRACTS = [contract for service in SERVICES for contract in service.contracts.values()]
_NUMBERS = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_DOUBLE,
        FieldDescriptor.TYPE_FLOAT,
    }
)


def _output_only(field: FieldDescriptor) -> bool:
    behaviors = field.GetOptions().Extensions[field_behavior_pb2.field_behavior]
    return field_behavior_pb2.OUTPUT_ONLY in behaviors


def input_fields(message: Descriptor, path: str = "") -> Iterator[tuple[str, FieldDescriptor]]:
    """Every field a client sets in a request, down through nested messages (output-only ones
    are ignored by the services, and so is what is under them)."""
    for field in message.fields:
        if _output_only(field):
            continue
        yield f"{path}{field.name}", field
        nested = field.message_type
        if nested is not None and not nested.full_name.startswith("google.protobuf."):
            if nested.GetOptions().map_entry:
                continue
            yield from input_fields(nested, f"{path}{field.name}.")


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.path)
def test_every_number_a_request_carries_declares_its_range(contract: MethodContract) -> None:
    unbounded = [
        path
        for path, field in input_fields(contract.descriptor.input_type)
        if field.type in _NUMBERS
        and not (
            field_bounds(field).HasField("minimum") and field_bounds(field).HasField("maximum")
        )
    ]
    assert not unbounded, f"declare (stride.api.v1.bounds) minimum and maximum for {unbounded}"


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.path)
def test_internal_rpcs_have_no_rest_mapping_and_edge_rpcs_have_one(
    contract: MethodContract,
) -> None:
    internal = contract.access.audience is Audience.INTERNAL
    assert (contract.http_rule is None) == internal


def test_bounds_declared_in_the_contract_are_within_what_a_field_can_hold() -> None:
    for contract in CONTRACTS:
        for path, field in input_fields(contract.descriptor.input_type):
            bounds = field_bounds(field)
            if bounds.HasField("minimum") and bounds.HasField("maximum"):
                assert bounds.minimum <= bounds.maximum, (contract.path, path)
                if field.type == FieldDescriptor.TYPE_INT32:
                    assert bounds.minimum >= -(2**31), path
                    assert bounds.maximum < 2**31, path
