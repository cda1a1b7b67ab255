"""Entitlements and the holds bookings place on them, between protobuf and the domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from stride.billing.domain.entitlements import Entitlement, Hold, HoldState, Kind
from stride.billing.service_layer.commands import GrantEntitlement, HoldCredit
from stride.billing.v1 import billing_service_pb2 as pb
from stride.platform.errors import DomainError, FieldViolation, InvalidArgument
from stride.platform.grpc.status import to_rpc_status
from stride.platform.grpc.timestamps import timestamp
from stride.platform.i18n import Locale
from stride.platform.resource_names import parse_user_name, parse_uuid_ids

_KINDS = {
    pb.Entitlement.KIND_MEMBERSHIP: Kind.MEMBERSHIP,
    pb.Entitlement.KIND_CLASS_PACK: Kind.CLASS_PACK,
}
_HOLD_STATES = {
    HoldState.HELD: pb.Hold.STATE_HELD,
    HoldState.RELEASED: pb.Hold.STATE_RELEASED,
}


def entitlement_to_proto(entitlement: Entitlement) -> pb.Entitlement:
    kind = next(proto for proto, kind in _KINDS.items() if kind is entitlement.kind)
    return pb.Entitlement(
        name=entitlement.resource_name,
        kind=kind,
        studio=entitlement.studio,
        credits_total=entitlement.credits_total,
        credits_remaining=entitlement.credits_remaining,
        start_time=timestamp(entitlement.start),
        expire_time=timestamp(entitlement.expire),
    )


def hold_to_proto(hold: Hold) -> pb.Hold:
    return pb.Hold(
        name=hold.resource_name,
        booking=hold.booking,
        studio=hold.studio,
        class_start_time=timestamp(hold.class_start),
        entitlement=f"users/{hold.member_id}/entitlements/{hold.entitlement_id}",
        state=_HOLD_STATES[hold.state],
    )


def grant_command(request: pb.GrantEntitlementRequest) -> GrantEntitlement:
    member_id = parse_user_name(request.parent, "parent")
    given = request.entitlement
    if not given.HasField("expire_time"):
        raise InvalidArgument([FieldViolation("entitlement.expire_time", "field.required")])
    return GrantEntitlement(
        member_id,
        _KINDS.get(given.kind),
        given.studio,
        given.credits_total,
        given.start_time.ToDatetime(tzinfo=UTC) if given.HasField("start_time") else None,
        given.expire_time.ToDatetime(tzinfo=UTC),
        request.reason,
    )


def hold_command(request: pb.HoldCreditRequest) -> HoldCredit:
    member_id = parse_user_name(request.parent, "parent")
    given = request.hold
    booking_member, booking_id = parse_uuid_ids(
        given.booking,
        ("users", "bookings"),
        field="hold.booking",
        message_key="booking.invalid_name",
    )
    violations = []
    if booking_member != member_id:
        violations.append(FieldViolation("hold.booking", "booking.invalid_name"))
    if not given.studio:
        violations.append(FieldViolation("hold.studio", "field.required"))
    if not given.HasField("class_start_time"):
        violations.append(FieldViolation("hold.class_start_time", "field.required"))
    if violations:
        raise InvalidArgument(violations)
    return HoldCredit(
        member_id,
        given.booking,
        booking_id,
        given.studio,
        given.class_start_time.ToDatetime(tzinfo=UTC),
    )


def read_hold_command(request: pb.HoldCreditRequest) -> HoldCredit | DomainError:
    """One hold of a batch, or why it cannot be read: that hold alone is refused."""
    try:
        return hold_command(request)
    except DomainError as unreadable:
        return unreadable


def hold_results_to_proto(
    held: Sequence[Hold | DomainError], locale: Locale
) -> pb.BatchHoldCreditsResponse:
    return pb.BatchHoldCreditsResponse(
        results=[
            pb.HoldCreditResult(error=to_rpc_status(result, locale))
            if isinstance(result, DomainError)
            else pb.HoldCreditResult(hold=hold_to_proto(result))
            for result in held
        ]
    )
