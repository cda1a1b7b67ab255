"""Trends to their proto."""

from __future__ import annotations

from stride.activity.domain.trends import DayTrend, Trends, TrendWindow, WeekTrend
from stride.activity.v1 import activity_service_pb2 as pb


def trends_to_proto(name: str, window: TrendWindow, found: Trends) -> pb.ActivityTrends:
    return pb.ActivityTrends(
        name=name,
        time_zone=window.time_zone,
        days=[_day(day) for day in found.days],
        weeks=[_week(week) for week in found.weeks],
        heart_rate_withheld=found.heart_rate_withheld,
        class_share=found.class_share,
        attendance_streak_weeks=found.attendance_streak_weeks,
    )


def _day(day: DayTrend) -> pb.ActivityTrends.Day:
    # An unset optional field is passed as None, which leaves it unset.
    return pb.ActivityTrends.Day(
        date=day.day.isoformat(),
        zone_minutes=day.zone_minutes or (),
        load=day.load,
        acute_load=day.acute_load,
        chronic_load=day.chronic_load,
        load_ratio=day.load_ratio,
        resting_heart_rate=day.resting_heart_rate,
        resting_heart_rate_7d_average=day.resting_heart_rate_7d_average,
        steps=day.steps,
        steps_7d_average=day.steps_7d_average,
    )


def _week(week: WeekTrend) -> pb.ActivityTrends.Week:
    return pb.ActivityTrends.Week(
        week_start_date=week.week_start.isoformat(),
        days=week.days,
        zone_minutes=week.zone_minutes or (),
        load=week.load,
        resting_heart_rate=week.resting_heart_rate,
        resting_heart_rate_change=week.resting_heart_rate_change,
        steps=week.steps,
        step_days=week.step_days,
        steps_daily_average=week.steps_daily_average,
        steps_change=week.steps_change,
        classes_attended=week.classes_attended,
        sessions=week.sessions,
        class_sessions=week.class_sessions,
        class_volume_kg=week.class_volume_kg,
        own_volume_kg=week.own_volume_kg,
    )
