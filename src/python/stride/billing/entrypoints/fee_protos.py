"""Studios' fees between protobuf and the domain."""

from __future__ import annotations

from stride.billing.domain.fees import StudioFees
from stride.billing.v1 import billing_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument


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
