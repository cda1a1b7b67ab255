"""Plans and what switching between them costs."""

from __future__ import annotations

from stride.billing.domain.money import Quote, plan_change_quote
from stride.billing.domain.plans import Plan, validate_plan
from stride.billing.service_layer.commands import CreatePlan, QuotePlanChange
from stride.billing.service_layer.handlers import STAFF
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import current_principal, require_role_in_studio
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FieldViolation, InvalidArgument, NotFound


async def create_plan(uow: BillingUnitOfWork, command: CreatePlan, clock: Clock = utcnow) -> Plan:
    author = require_role_in_studio(f"studios/{command.studio}", *STAFF)
    plan = validate_plan(
        command.studio,
        command.display_name_en,
        command.display_name_ar,
        command.kind,
        command.currency,
        command.price_minor,
        command.vat_rate_basis_points,
        command.credits,
        command.valid_days,
        intro_price_minor=command.intro_price_minor,
        commitment_periods=command.commitment_periods,
        trial_days=command.trial_days,
        add_on_price_minor=command.add_on_price_minor,
    )
    now = clock()
    async with uow:
        await uow.plans.add(plan, now)
        await uow.audit.append(
            now,
            f"users/{author.user_id}",
            "plan.created",
            plan.resource_name,
            {
                "currency": plan.currency,
                "price_minor": plan.price_minor,
                "vat_rate_basis_points": plan.vat_rate_basis_points,
                "intro_price_minor": plan.intro_price_minor,
                "commitment_periods": plan.commitment_periods,
                "trial_days": plan.trial_days,
                "add_on_price_minor": plan.add_on_price_minor,
            },
        )
        await uow.commit()
    return plan


async def list_plans(uow: BillingUnitOfWork, studio: str, offset: int, limit: int) -> list[Plan]:
    current_principal()
    async with uow:
        return await uow.plans.for_studio(studio, offset, limit)


async def quote_plan_change(
    uow: BillingUnitOfWork, command: QuotePlanChange, clock: Clock = utcnow
) -> Quote:
    current_principal()
    async with uow:
        old = await uow.plans.get(command.studio, command.from_plan_id)
        new = await uow.plans.get(command.studio, command.to_plan_id)
    if old is None or new is None:
        raise NotFound("PLAN_NOT_FOUND", "plan.not_found")
    if old.currency != new.currency:
        raise InvalidArgument([FieldViolation("from_plan", "plan.other_currency")])
    at = command.change_at or clock()
    if not command.period_start <= at < command.period_end:
        raise InvalidArgument([FieldViolation("change_time", "plan.change_outside_period")])
    return plan_change_quote(
        new.currency,
        new.vat_rate_basis_points,
        old.price_minor,
        new.price_minor,
        command.period_start,
        command.period_end,
        at,
    )
