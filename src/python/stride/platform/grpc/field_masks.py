"""AIP-134 update masks, read the same way by every Update RPC."""

from __future__ import annotations

from collections.abc import Collection
from typing import cast

from google.api import field_behavior_pb2, resource_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from stride.platform.errors import FieldViolation, InvalidArgument

MASK_FIELD = "update_mask"
EVERY_FIELD = "*"


def _behaviors(field: FieldDescriptor) -> Collection[int]:
    return list(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def _output_only(request_type: Descriptor) -> frozenset[str]:
    """The output-only fields of the resource the request updates."""
    for field in request_type.fields:
        resource = field.message_type
        if resource is not None and resource.GetOptions().HasExtension(resource_pb2.resource):
            return frozenset(
                f.name for f in resource.fields if field_behavior_pb2.OUTPUT_ONLY in _behaviors(f)
            )
    return frozenset()


def updated_fields(request: Message, updatable: Collection[str]) -> frozenset[str]:
    """Which of the resource's `updatable` fields an Update request changes, by its mask:

    - the paths it names, each one of `updatable`: any other is INVALID_ARGUMENT on
      `update_mask`, naming them all — except the resource's output-only fields, which a client
      may echo back and which are ignored (AIP-203);
    - `*`, or no path at all, names every updatable field (the resource is replaced) — unless
      the contract declares the mask REQUIRED, when an empty one is refused.
    """
    descriptor = cast(Descriptor, request.DESCRIPTOR)
    mask_field = descriptor.fields_by_name[MASK_FIELD]
    paths: frozenset[str] = next(
        (frozenset(mask.paths) for field, mask in request.ListFields() if field.name == MASK_FIELD),
        frozenset(),
    )
    if not paths and field_behavior_pb2.REQUIRED in _behaviors(mask_field):
        raise InvalidArgument([FieldViolation(MASK_FIELD, "field.required")])
    if not paths or paths == frozenset({EVERY_FIELD}):
        return frozenset(updatable)
    unknown = sorted(paths - set(updatable) - _output_only(descriptor))
    if unknown:
        raise InvalidArgument(
            [FieldViolation(MASK_FIELD, "field.not_updatable", {"fields": ", ".join(unknown)})]
        )
    return paths & frozenset(updatable)
