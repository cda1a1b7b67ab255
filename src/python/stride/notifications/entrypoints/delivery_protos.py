"""Deliveries between protobuf and the domain: names with AIP-159 wildcards, the AIP-160
filter on their state, and the delivery log."""

from __future__ import annotations

import uuid

from stride.notifications.adapters.delivery_log_repository import DeliveryFilter
from stride.notifications.domain.notifications import (
    EMAIL_TARGET,
    SMS_TARGET,
    Channel,
    DeliveryState,
    DeliveryStatus,
    SendOutcome,
)
from stride.notifications.v1 import notifications_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.filtering import Comparison, FilterField, FilterSchema, Operator
from stride.platform.grpc.timestamps import timestamp
from stride.platform.resource_names import parse_resource_name

_WILDCARD = "-"  # AIP-159: any user, any notification.
CHANNELS = {
    Channel.PUSH: pb.Delivery.CHANNEL_PUSH,
    Channel.EMAIL: pb.Delivery.CHANNEL_EMAIL,
    Channel.SMS: pb.Delivery.CHANNEL_SMS,
}
_STATES = {
    DeliveryState.PENDING: pb.Delivery.STATE_PENDING,
    DeliveryState.SENDING: pb.Delivery.STATE_SENDING,
    DeliveryState.SENT: pb.Delivery.STATE_SENT,
    DeliveryState.FAILED: pb.Delivery.STATE_FAILED,
    DeliveryState.DEAD_TOKEN: pb.Delivery.STATE_DEAD_TOKEN,
    DeliveryState.CANCELLED: pb.Delivery.STATE_CANCELLED,
}
_STATES_BY_NAME = {pb.Delivery.State.Name(proto): known for known, proto in _STATES.items()}
_FILTER = FilterSchema({"state": FilterField.enum(_STATES_BY_NAME, operators=[Operator.EQUAL])})
_OUTCOMES = {
    SendOutcome.SENT: pb.DeliveryAttempt.OUTCOME_SENT,
    SendOutcome.RETRY: pb.DeliveryAttempt.OUTCOME_RETRY,
    SendOutcome.REFUSED: pb.DeliveryAttempt.OUTCOME_REFUSED,
    SendOutcome.DEAD_TOKEN: pb.DeliveryAttempt.OUTCOME_DEAD_TOKEN,
}


def delivery_filter(parent: str, filter_: str) -> DeliveryFilter:
    """`users/{user|-}/notifications/{notification|-}` and `state = STATE_…` (or nothing)."""
    violations: list[FieldViolation] = []
    try:
        ids = [
            None if part == _WILDCARD else uuid.UUID(part)
            for part in parse_resource_name(
                parent,
                ("users", "notifications"),
                field="parent",
                message_key="delivery.invalid_parent",
            )
        ]
    except (InvalidArgument, ValueError):
        violations.append(FieldViolation("parent", "delivery.invalid_parent"))
    comparisons: tuple[Comparison, ...] = ()
    try:
        comparisons = _FILTER.parse(filter_)
    except InvalidArgument as refused:
        violations.extend(refused.violations)
    if violations:
        raise InvalidArgument(violations)
    user, notification = ids
    # `state` is the one field, compared for equality at most once.
    state = next((_STATES_BY_NAME[str(c.value)] for c in comparisons), None)
    return DeliveryFilter(user, notification, state)


def delivery_name(name: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    """`users/{user}/notifications/{notification}/deliveries/{device id|email|sms}`."""
    user, notification, target = parse_resource_name(
        name,
        ("users", "notifications", "deliveries"),
        field="name",
        message_key="delivery.invalid_name",
    )
    try:
        if target not in (EMAIL_TARGET, SMS_TARGET):
            target = str(uuid.UUID(target))  # Its canonical spelling.
        return uuid.UUID(user), uuid.UUID(notification), target
    except ValueError:
        raise InvalidArgument([FieldViolation("name", "delivery.invalid_name")]) from None


def delivery_to_proto(status: DeliveryStatus) -> pb.Delivery:
    return pb.Delivery(
        name=status.resource_name,
        channel=CHANNELS[status.channel],
        state=_STATES[status.state],
        failed_attempts=status.attempts,
        next_attempt_time=timestamp(status.next_attempt),
        update_time=timestamp(status.updated),
        attempts=[
            pb.DeliveryAttempt(
                attempt=attempt.number,
                outcome=_OUTCOMES[attempt.outcome],
                attempt_time=timestamp(attempt.at),
            )
            for attempt in status.log
        ],
    )
