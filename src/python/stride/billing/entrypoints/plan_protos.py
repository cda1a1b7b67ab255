"""Plans and quotes between protobuf and the domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from stride.billing.domain.money import Line, Quote
from stride.billing.domain.plans import Plan, PlanKind, parse_plan_name
from stride.billing.service_layer.commands import CreatePlan, QuotePlanChange
from stride.billing.v1 import billing_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.i18n import CATALOG, current_locale
from stride.platform.resource_names import parse_resource_name

_PLAN_KINDS = {
    pb.Plan.KIND_MONTHLY_MEMBERSHIP: PlanKind.MONTHLY_MEMBERSHIP,
    pb.Plan.KIND_ANNUAL_MEMBERSHIP: PlanKind.ANNUAL_MEMBERSHIP,
    pb.Plan.KIND_CLASS_PACK: PlanKind.CLASS_PACK,
}


def studio_slug(name: str, field: str = "parent") -> str:
    """`studios/{studio}` → the studio's slug."""
    (slug,) = parse_resource_name(
        name, ("studios",), field=field, message_key="studio.invalid_name"
    )
    return slug


def plan_to_proto(plan: Plan) -> pb.Plan:
    kind = next(proto for proto, kind in _PLAN_KINDS.items() if kind is plan.kind)
    proto = pb.Plan(
        name=plan.resource_name,
        display_name_en=plan.display_name_en,
        display_name_ar=plan.display_name_ar,
        kind=kind,
        price=pb.Money(currency_code=plan.currency, amount_minor=plan.price_minor),
        vat_rate_basis_points=plan.vat_rate_basis_points,
        credits=plan.credits,
        valid_days=plan.valid_days,
        commitment_periods=plan.commitment_periods,
        trial_days=plan.trial_days,
    )
    if plan.intro_price_minor is not None:
        proto.intro_price.CopyFrom(
            pb.Money(currency_code=plan.currency, amount_minor=plan.intro_price_minor)
        )
    if plan.add_on_price_minor is not None:
        proto.add_on_price.CopyFrom(
            pb.Money(currency_code=plan.currency, amount_minor=plan.add_on_price_minor)
        )
    return proto


def quote_to_proto(quote: Quote) -> pb.Quote:
    currency = quote.currency
    return pb.Quote(
        lines=lines_to_proto(currency, quote.lines),
        net=pb.Money(currency_code=currency, amount_minor=quote.net_minor),
        vat=pb.Money(currency_code=currency, amount_minor=quote.vat_minor),
        total=pb.Money(currency_code=currency, amount_minor=quote.total_minor),
    )


def lines_to_proto(currency: str, lines: Sequence[Line]) -> list[pb.QuoteLine]:
    """A quote's or an invoice's lines, described in the caller's language."""
    return [
        pb.QuoteLine(
            description=CATALOG.translate(item.description_key, current_locale()),
            net=pb.Money(currency_code=currency, amount_minor=item.net_minor),
            vat=pb.Money(currency_code=currency, amount_minor=item.vat_minor),
            total=pb.Money(currency_code=currency, amount_minor=item.total_minor),
        )
        for item in lines
    ]


def create_plan_command(request: pb.CreatePlanRequest) -> CreatePlan:
    given = request.plan
    return CreatePlan(
        studio_slug(request.parent),
        given.display_name_en,
        given.display_name_ar,
        _PLAN_KINDS.get(given.kind),
        given.price.currency_code,
        given.price.amount_minor,
        given.vat_rate_basis_points,
        given.credits,
        given.valid_days,
        intro_price_minor=(
            given.intro_price.amount_minor if given.HasField("intro_price") else None
        ),
        commitment_periods=given.commitment_periods,
        trial_days=given.trial_days,
        add_on_price_minor=(
            given.add_on_price.amount_minor if given.HasField("add_on_price") else None
        ),
    )


def quote_command(request: pb.QuotePlanChangeRequest) -> QuotePlanChange:
    studio, to_plan = parse_plan_name(request.to_plan, "to_plan")
    from_studio, from_plan = parse_plan_name(request.from_plan, "from_plan")
    violations = [
        FieldViolation(field, "field.required")
        for field in ("period_start_time", "period_end_time")
        if not request.HasField(field)  # type: ignore[arg-type]
    ]
    if from_studio != studio:
        violations.append(FieldViolation("from_plan", "field.other_studio"))
    if violations:
        raise InvalidArgument(violations)
    return QuotePlanChange(
        studio,
        from_plan,
        to_plan,
        request.period_start_time.ToDatetime(tzinfo=UTC),
        request.period_end_time.ToDatetime(tzinfo=UTC),
        request.change_time.ToDatetime(tzinfo=UTC) if request.HasField("change_time") else None,
    )
