import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from stride.platform.errors import InvalidArgument
from stride.platform.grpc.field_masks import updated_fields
from stride.platform.probe.v1.probe_service_pb2 import (
    UpdateProbeRequest,
    UpdateProbeWithMaskRequest,
)

UPDATABLE = ("title", "note")


def masked(*paths: str) -> UpdateProbeRequest:
    return UpdateProbeRequest(update_mask=FieldMask(paths=list(paths)))


def refusal(request: UpdateProbeRequest | UpdateProbeWithMaskRequest) -> tuple[str, str, str]:
    with pytest.raises(InvalidArgument) as raised:
        updated_fields(request, UPDATABLE)
    (violation,) = raised.value.violations
    return violation.field, violation.message_key, str(violation.params.get("fields", ""))


def test_only_the_named_fields_change() -> None:
    assert updated_fields(masked("note"), UPDATABLE) == {"note"}
    assert updated_fields(masked("title", "note"), UPDATABLE) == {"title", "note"}


def test_an_empty_mask_or_a_star_replaces_every_updatable_field() -> None:
    assert updated_fields(UpdateProbeRequest(), UPDATABLE) == set(UPDATABLE)
    assert updated_fields(masked("*"), UPDATABLE) == set(UPDATABLE)


def test_a_mask_the_contract_requires_cannot_be_left_empty() -> None:
    required = UpdateProbeWithMaskRequest()
    assert refusal(required) == ("update_mask", "field.required", "")
    required.update_mask.paths.append("title")
    assert updated_fields(required, UPDATABLE) == {"title"}


def test_fields_that_cannot_be_updated_are_refused_by_name() -> None:
    assert refusal(masked("note", "name", "colour")) == (
        "update_mask",
        "field.not_updatable",
        "colour, name",
    )
    assert refusal(masked("*", "note"))[1] == "field.not_updatable"


def test_output_only_fields_named_in_the_mask_are_ignored() -> None:
    assert updated_fields(masked("note", "create_time"), UPDATABLE) == {"note"}
