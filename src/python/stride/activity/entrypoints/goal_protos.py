"""Goals between protobuf and the domain."""

from __future__ import annotations

from stride.activity.domain.goals import Goal, GoalKind
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.grpc.timestamps import timestamp

_KINDS = {
    GoalKind.ONE_REP_MAX: pb.Goal.KIND_ONE_REP_MAX,
    GoalKind.WEEKLY_SESSIONS: pb.Goal.KIND_WEEKLY_SESSIONS,
    GoalKind.WEEKLY_VOLUME: pb.Goal.KIND_WEEKLY_VOLUME,
}
_KIND_OF = {value: key for key, value in _KINDS.items()}


def goal_kind(given: pb.Goal) -> GoalKind | None:
    return _KIND_OF.get(given.kind)


def goal_to_proto(goal: Goal, progress: float) -> pb.Goal:
    message = pb.Goal(
        name=goal.resource_name,
        kind=_KINDS[goal.kind],
        exercise=goal.exercise,
        target=goal.target,
        progress=progress,
        state=pb.Goal.STATE_ACHIEVED if goal.achieved else pb.Goal.STATE_ACTIVE,
        create_time=timestamp(goal.create_time),
    )
    if goal.achieve_time is not None:
        message.achieve_time.CopyFrom(timestamp(goal.achieve_time))
    return message
