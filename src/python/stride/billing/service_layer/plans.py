"""Plans and what switching between them costs."""

from __future__ import annotations

import uuid
from datetime import datetime

from stride.billing.domain.money import Quote, plan_change_quote
from stride.billing.domain.plans import Plan, PlanKind, validate_plan
from stride.billing.service_layer.handlers import STAFF
from stride.billing.service_layer.unit_of_work import BillingUnitOfWork
from stride.platform.auth import current_principal, require_role_in_studio
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FieldViolation, InvalidArgument, NotFound


async def create_plan(
    uow: BillingUnitOfWork,
    studio: str,
    display_name_en: str,
    display_name_ar: str,
    kind: PlanKind | None,
    currency: str,
    price_minor: int,
    vat_rate_basis_points: int,
    credits: int,
    valid_days: int,
    clock: Clock = utcnow,
    *,
    intro_price_minor: int | None = None,
    commitment_periods: int = 0,
    trial_days: int = 0,
    add_on_price_minor: int | None = None,
) -> Plan:
    author = require_role_in_studio(f"studios/{studio}", *STAFF)
    plan = validate_plan(
        studio,
        display_name_en,
        display_name_ar,
        kind,
        currency,
        price_minor,
        vat_rate_basis_points,
        credits,
        valid_days,
        intro_price_minor=intro_price_minor,
        commitment_periods=commitment_periods,
        trial_days=trial_days,
        add_on_price_minor=add_on_price_minor,
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
    uow: BillingUnitOfWork,
    studio: str,
    from_plan_id: uuid.UUID,
    to_plan_id: uuid.UUID,
    period_start: datetime,
    period_end: datetime,
    change_at: datetime | None,
    clock: Clock = utcnow,
) -> Quote:
    current_principal()
    async with uow:
        old, new = await uow.plans.get(studio, from_plan_id), await uow.plans.get(
            studio, to_plan_id
        )
    if old is None or new is None:
        raise NotFound("PLAN_NOT_FOUND", "plan.not_found")
    if old.currency != new.currency:
        raise InvalidArgument([FieldViolation("from_plan", "plan.other_currency")])
    at = change_at or clock()
    if not period_start <= at < period_end:
        raise InvalidArgument([FieldViolation("change_time", "plan.change_outside_period")])
    return plan_change_quote(
        new.currency,
        new.vat_rate_basis_points,
        old.price_minor,
        new.price_minor,
        period_start,
        period_end,
        at,
    )
