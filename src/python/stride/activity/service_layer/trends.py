"""A member's trends: heart-rate load, resting heart rate, steps and attendance over weeks of
their local days, read from the hourly health figures (summed per local day, then each day
from the device kind the member ranks first) and the sessions Activity keeps."""

from __future__ import annotations

from stride.activity.domain.health import DEFAULT_PRIORITY
from stride.activity.domain.privacy import HealthData
from stride.activity.domain.trends import (
    HEART_RATE_KINDS,
    STEP_KINDS,
    Trends,
    TrendWindow,
    local_figures,
    trend_window,
    trends,
)
from stride.activity.service_layer.commands import GetActivityTrends
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.clock import Clock, utcnow


async def activity_trends(
    uow: ActivityUnitOfWork, command: GetActivityTrends, clock: Clock = utcnow
) -> tuple[TrendWindow, Trends]:
    """The trends of the weeks asked for; heart-rate figures only with heart-rate consent."""
    window = trend_window(clock(), command.weeks, command.time_zone)
    member_id, zone = command.member_id, window.time_zone
    async with uow:
        consent = await uow.privacy.consent(member_id)
        heart_rate_shown = consent.allows(HealthData.HEART_RATE)
        priority = await uow.health.priority(member_id) or DEFAULT_PRIORITY
        days = await uow.trends.local_days(
            member_id,
            STEP_KINDS + HEART_RATE_KINDS if heart_rate_shown else STEP_KINDS,
            window.instant(window.read_from),
            window.end,
            zone,
        )
        sessions = await uow.trends.sessions(
            member_id, window.instant(window.first_day), window.end, zone
        )
        class_weeks = await uow.trends.class_weeks(
            member_id, window.instant(window.attendance_from), window.end, zone
        )
    figures = local_figures(window, days, priority)
    found = trends(window, figures, sessions, class_weeks, heart_rate_shown=heart_rate_shown)
    return window, found
