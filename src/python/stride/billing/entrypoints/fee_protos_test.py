"""UpdateStudioFees' AIP-134 update mask, read into the command the handler applies."""

from __future__ import annotations

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from stride.billing.entrypoints.fee_protos import update_fees_command
from stride.billing.service_layer.commands import UpdateFees
from stride.billing.v1 import billing_service_pb2 as pb
from stride.platform.errors import InvalidArgument

FEES = pb.StudioFees(
    name="studios/olaya/fees",
    late_cancel_fee=pb.Money(currency_code="SAR", amount_minor=5_000),
    no_show_fee=pb.Money(currency_code="SAR", amount_minor=10_000),
    vat_rate_basis_points=1500,
)


def request(*paths: str, fees: pb.StudioFees = FEES) -> pb.UpdateStudioFeesRequest:
    return pb.UpdateStudioFeesRequest(fees=fees, update_mask=FieldMask(paths=list(paths)))


def test_the_mask_names_what_changes() -> None:
    assert update_fees_command(request("no_show_fee")) == UpdateFees(
        "olaya", "SAR", None, 10_000, None
    )
    assert update_fees_command(request("vat_rate_basis_points")) == UpdateFees(
        "olaya", None, None, None, 1500
    )


def test_an_empty_mask_or_a_star_changes_everything() -> None:
    everything = UpdateFees("olaya", "SAR", 5_000, 10_000, 1500)
    assert update_fees_command(request()) == everything
    assert update_fees_command(request("*")) == everything


def test_unknown_fields_and_two_currencies_are_refused() -> None:
    with pytest.raises(InvalidArgument) as unknown:
        update_fees_command(request("late_cancel_fee", "name", "currency"))
    mixed = pb.StudioFees()
    mixed.CopyFrom(FEES)
    mixed.no_show_fee.currency_code = "USD"
    with pytest.raises(InvalidArgument) as two_currencies:
        update_fees_command(request(fees=mixed))

    (violation,) = unknown.value.violations
    assert (violation.field, violation.params) == ("update_mask", {"fields": "currency, name"})
    assert [v.field for v in two_currencies.value.violations] == ["fees.no_show_fee.currency_code"]
