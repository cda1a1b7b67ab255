"""Live session updates, heart-rate readings and the class board between protobuf and the
domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from stride.activity.domain.live import Heartbeat, HeartRate, LiveUpdate, SessionHeartRate
from stride.activity.entrypoints.session_protos import STATES, set_to_proto
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import timestamp


def readings_from_proto(request: pb.RecordHeartRateRequest) -> tuple[HeartRate, ...]:
    """The readings as the device sent them, each with its time."""
    violations = [
        FieldViolation(f"readings[{index}].time", "field.required")
        for index, reading in enumerate(request.readings)
        if not reading.HasField("time")
    ]
    if violations:
        raise InvalidArgument(violations)
    return tuple(
        HeartRate(reading.time.ToDatetime(UTC), reading.bpm) for reading in request.readings
    )


def reading_to_proto(reading: HeartRate) -> pb.HeartRateReading:
    return pb.HeartRateReading(time=timestamp(reading.time), bpm=reading.bpm, zone=reading.zone)


def live_update_to_proto(update: LiveUpdate) -> pb.LiveUpdate:
    message = pb.LiveUpdate(
        sequence=update.sequence,
        workout_session=update.session_name,
        create_time=timestamp(update.create_time),
    )
    change = update.change
    if change.logged_set is not None:
        message.set.CopyFrom(set_to_proto(change.logged_set))
    elif change.heart_rate is not None:
        message.heart_rate.CopyFrom(reading_to_proto(change.heart_rate))
    elif change.state is not None:
        message.state = STATES[change.state]
    return message


def heartbeat_to_proto(heartbeat: Heartbeat, session_name: str) -> pb.LiveUpdate:
    return pb.LiveUpdate(
        sequence=heartbeat.sequence,
        workout_session=session_name,
        heartbeat=pb.LiveUpdate.Heartbeat(),
    )


def board_to_proto(rates: Sequence[SessionHeartRate]) -> pb.ClassHeartRates:
    return pb.ClassHeartRates(
        heart_rates=[
            pb.ClassHeartRate(
                member=f"users/{rate.member_id}",
                workout_session=f"users/{rate.member_id}/workoutSessions/{rate.session_id}",
                heart_rate=reading_to_proto(rate.heart_rate),
            )
            for rate in rates
        ]
    )
