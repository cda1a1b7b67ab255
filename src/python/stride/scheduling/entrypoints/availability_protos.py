"""Instructors' availability between protobuf and the domain."""

from __future__ import annotations

from collections.abc import Collection
from datetime import time

from stride.scheduling.domain.availability import Availability, validate_availability
from stride.scheduling.v1 import scheduling_service_pb2 as pb


def availability_from_proto(
    given: pb.InstructorAvailability, parts: Collection[str]
) -> Availability:
    """The `parts` the request replaces, validated; the others (ignored) are left empty."""
    return validate_availability(
        [(w.day_of_week, w.start, w.end) for w in given.weekly] if "weekly" in parts else [],
        (
            [(e.date, [(w.start, w.end) for w in e.windows]) for e in given.exceptions]
            if "exceptions" in parts
            else []
        ),
    )


def availability_to_proto(name: str, availability: Availability) -> pb.InstructorAvailability:
    def hhmm(moment: time) -> str:
        return moment.isoformat("minutes")

    return pb.InstructorAvailability(
        name=name,
        weekly=[
            pb.WeeklyWindow(day_of_week=day, start=hhmm(w.start), end=hhmm(w.end))
            for day, windows in sorted(availability.weekly.items())
            for w in windows
        ],
        exceptions=[
            pb.AvailabilityException(
                date=day.isoformat(),
                windows=[pb.TimeWindow(start=hhmm(w.start), end=hhmm(w.end)) for w in windows],
            )
            for day, windows in sorted(availability.exceptions.items())
        ],
    )
