"""Studios' fees between protobuf and the domain."""

from __future__ import annotations

from stride.billing.domain.fees import StudioFees
from stride.billing.service_layer.commands import UpdateFees
from stride.billing.v1 import billing_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument

UPDATABLE = ("late_cancel_fee", "no_show_fee", "vat_rate_basis_points")


def fees_studio(name: str, field: str) -> str:
    """`studios/{studio}/fees` → the studio's slug."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "studios" or parts[2] != "fees" or not parts[1]:
        raise InvalidArgument([FieldViolation(field, "fees.invalid_name")])
    return parts[1]


def fees_to_proto(prices: StudioFees) -> pb.StudioFees:
    return pb.StudioFees(
        name=prices.resource_name,
        late_cancel_fee=pb.Money(
            currency_code=prices.currency, amount_minor=prices.late_cancel_minor
        ),
        no_show_fee=pb.Money(currency_code=prices.currency, amount_minor=prices.no_show_minor),
        vat_rate_basis_points=prices.vat_rate_basis_points,
    )


def update_fees_command(request: pb.UpdateStudioFeesRequest) -> UpdateFees:
    """AIP-134: the fields `update_mask` names, or all of them for an empty mask or `*`."""
    given = request.fees
    paths = set(request.update_mask.paths)
    if not paths or paths == {"*"}:
        paths = set(UPDATABLE)
    unknown = sorted(paths - set(UPDATABLE))
    if unknown:
        raise InvalidArgument(
            [FieldViolation("update_mask", "field.not_updatable", {"fields": ", ".join(unknown)})]
        )
    late = given.late_cancel_fee if "late_cancel_fee" in paths else None
    no_show = given.no_show_fee if "no_show_fee" in paths else None
    currencies = {fee.currency_code for fee in (late, no_show) if fee and fee.currency_code}
    if len(currencies) > 1:
        raise InvalidArgument(
            [FieldViolation("fees.no_show_fee.currency_code", "fees.one_currency")]
        )
    return UpdateFees(
        fees_studio(given.name, "fees.name"),
        currencies.pop() if currencies else None,
        late.amount_minor if late else None,
        no_show.amount_minor if no_show else None,
        given.vat_rate_basis_points if "vat_rate_basis_points" in paths else None,
    )
