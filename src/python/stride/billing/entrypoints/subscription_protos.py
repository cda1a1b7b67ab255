"""Subscriptions between protobuf and the domain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from stride.billing.domain.plans import parse_plan_name
from stride.billing.domain.purchases import plan_total
from stride.billing.domain.subscriptions import Subscription, SubscriptionState
from stride.billing.service_layer.commands import (
    AddFamilyMember,
    ChangePaymentMethod,
    ChangePlan,
    PauseSubscription,
)
from stride.billing.v1 import billing_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import timestamp
from stride.platform.resource_names import parse_user_name, parse_uuid_ids

_SUBSCRIPTION_STATES = {
    SubscriptionState.TRIALING: pb.Subscription.STATE_TRIALING,
    SubscriptionState.ACTIVE: pb.Subscription.STATE_ACTIVE,
    SubscriptionState.PAST_DUE: pb.Subscription.STATE_PAST_DUE,
    SubscriptionState.CANCELLED: pb.Subscription.STATE_CANCELLED,
    SubscriptionState.PAUSED: pb.Subscription.STATE_PAUSED,
    SubscriptionState.SUSPENDED: pb.Subscription.STATE_SUSPENDED,
}


def subscription_name(name: str) -> tuple[uuid.UUID, uuid.UUID]:
    """`users/{user}/subscriptions/{subscription}` → (member, subscription)."""
    member_id, subscription = parse_uuid_ids(
        name,
        ("users", "subscriptions"),
        field="name",
        message_key="subscription.invalid_name",
    )
    return member_id, subscription


def subscription_to_proto(subscription: Subscription) -> pb.Subscription:
    plan = subscription.plan
    proto = pb.Subscription(
        name=subscription.resource_name,
        plan=plan.resource_name,
        state=_SUBSCRIPTION_STATES[subscription.state_at(datetime.now(UTC))],
        current_period_start_time=timestamp(subscription.period_start),
        current_period_end_time=timestamp(subscription.period_end),
        cancel_at_period_end=subscription.cancel_at_period_end,
        failed_renewals=subscription.failed_attempts,
        entitlement=f"users/{subscription.member_id}/entitlements/{subscription.entitlement_id}",
        price=pb.Money(currency_code=plan.currency, amount_minor=plan_total(plan)),
        pending_plan=subscription.pending_plan.resource_name if subscription.pending_plan else "",
        add_on_members=[f"users/{add_on.member_id}" for add_on in subscription.add_ons],
    )
    if subscription.next_attempt is not None:
        proto.next_renewal_time.CopyFrom(timestamp(subscription.next_attempt))
    if subscription.cancelled is not None:
        proto.cancel_time.CopyFrom(timestamp(subscription.cancelled))
    if subscription.pause_start is not None and subscription.pause_end is not None:
        proto.pause_start_time.CopyFrom(timestamp(subscription.pause_start))
        proto.pause_end_time.CopyFrom(timestamp(subscription.pause_end))
    if subscription.committed_until is not None:
        proto.commitment_end_time.CopyFrom(timestamp(subscription.committed_until))
    if subscription.trial_end is not None:
        proto.trial_end_time.CopyFrom(timestamp(subscription.trial_end))
    return proto


def pause_command(request: pb.PauseSubscriptionRequest) -> PauseSubscription:
    member_id, subscription = subscription_name(request.name)
    missing = [
        FieldViolation(field, "field.required")
        for field in ("start_time", "end_time")
        if not request.HasField(field)  # type: ignore[arg-type]
    ]
    if missing:
        raise InvalidArgument(missing)
    return PauseSubscription(
        member_id,
        subscription,
        request.start_time.ToDatetime(tzinfo=UTC),
        request.end_time.ToDatetime(tzinfo=UTC),
    )


def change_plan_command(request: pb.ChangeSubscriptionPlanRequest) -> ChangePlan:
    member_id, subscription = subscription_name(request.name)
    studio, plan_id = parse_plan_name(request.plan, "plan")
    return ChangePlan(member_id, subscription, studio, plan_id, request.request_id)


def add_member_command(request: pb.AddSubscriptionMemberRequest) -> AddFamilyMember:
    holder_id, subscription = subscription_name(request.name)
    return AddFamilyMember(
        holder_id, subscription, parse_user_name(request.member, "member"), request.request_id
    )


def change_card_command(
    request: pb.ChangeSubscriptionPaymentMethodRequest,
) -> ChangePaymentMethod:
    member_id, subscription = subscription_name(request.name)
    return ChangePaymentMethod(member_id, subscription, request.payment_method)
