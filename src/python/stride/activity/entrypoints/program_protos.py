"""Programs, assignments and set suggestions between protobuf and the domain."""

from __future__ import annotations

from stride.activity.domain.programs import (
    Assignment,
    Program,
    ProgramDay,
    Progression,
    Reason,
    Suggestion,
)
from stride.activity.entrypoints.resource_names import template_ids
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.grpc.timestamps import timestamp

_REASONS = {
    Reason.AS_PLANNED: pb.SetSuggestion.REASON_AS_PLANNED,
    Reason.MORE_LOAD: pb.SetSuggestion.REASON_MORE_LOAD,
    Reason.MORE_REPS: pb.SetSuggestion.REASON_MORE_REPS,
    Reason.REPEAT: pb.SetSuggestion.REASON_REPEAT,
    Reason.DELOAD: pb.SetSuggestion.REASON_DELOAD,
}
_DEFAULT = Progression()


def program_days_from_proto(given: pb.Program) -> tuple[ProgramDay, ...]:
    return tuple(
        ProgramDay(
            day.week,
            day.day,
            "{}/workoutTemplates/{}".format(
                *template_ids(day.workout_template, f"program.days[{index}].workout_template")
            ),
        )
        for index, day in enumerate(given.days)
    )


def progression_from_proto(given: pb.Progression) -> Progression:
    """The rule as given; what is unset takes the default (an increment of 0 means none)."""
    return Progression(
        load_increment_kg=given.load_increment_kg or _DEFAULT.load_increment_kg,
        min_reps_in_reserve=(
            given.min_reps_in_reserve
            if given.HasField("min_reps_in_reserve")
            else _DEFAULT.min_reps_in_reserve
        ),
        deload_percent=given.deload_percent or _DEFAULT.deload_percent,
    )


def program_to_proto(program: Program) -> pb.Program:
    return pb.Program(
        name=program.resource_name,
        display_name=program.display_name,
        description=program.description,
        weeks=program.weeks,
        days=[
            pb.ProgramDay(week=d.week, day=d.day, workout_template=d.workout_template)
            for d in program.days
        ],
        deload_weeks=program.deload_weeks,
        progression=pb.Progression(
            load_increment_kg=program.progression.load_increment_kg,
            min_reps_in_reserve=program.progression.min_reps_in_reserve,
            deload_percent=program.progression.deload_percent,
        ),
        author=program.author,
        create_time=timestamp(program.create_time),
    )


def assignment_to_proto(assignment: Assignment) -> pb.ProgramAssignment:
    return pb.ProgramAssignment(
        name=assignment.resource_name,
        program=assignment.program,
        start_date=assignment.start_date.isoformat(),
        time_zone=assignment.time_zone,
        assigned_by=assignment.assigned_by,
        create_time=timestamp(assignment.create_time),
    )


def suggestion_to_proto(suggestion: Suggestion, week: int, day: int) -> pb.SetSuggestion:
    return pb.SetSuggestion(
        exercise=suggestion.exercise,
        reps=suggestion.reps,
        weight_kg=suggestion.weight_kg,
        reps_in_reserve=suggestion.reps_in_reserve,
        reason=_REASONS[suggestion.reason],
        week=week,
        day=day,
    )
