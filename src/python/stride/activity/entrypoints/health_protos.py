"""Health samples, rollups, anchors and settings between protobuf and the domain."""

from __future__ import annotations

from datetime import UTC, datetime
from operator import methodcaller

from stride.activity.domain.health import (
    Device,
    DeviceType,
    GivenSample,
    HealthKind,
    Resolution,
    Rollup,
)
from stride.activity.service_layer.health import UploadOutcome
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import moment, timestamp
from stride.platform.i18n import CATALOG, current_locale

KINDS = {
    HealthKind.HEART_RATE: pb.HEALTH_KIND_HEART_RATE,
    HealthKind.RESTING_HEART_RATE: pb.HEALTH_KIND_RESTING_HEART_RATE,
    HealthKind.STEPS: pb.HEALTH_KIND_STEPS,
    HealthKind.DISTANCE: pb.HEALTH_KIND_DISTANCE,
    HealthKind.ACTIVE_ENERGY: pb.HEALTH_KIND_ACTIVE_ENERGY,
}
_KIND_OF: dict[int, HealthKind] = {value: key for key, value in KINDS.items()}
DEVICE_TYPES = {
    DeviceType.WATCH: pb.HEALTH_DEVICE_TYPE_WATCH,
    DeviceType.FITNESS_BAND: pb.HEALTH_DEVICE_TYPE_FITNESS_BAND,
    DeviceType.RING: pb.HEALTH_DEVICE_TYPE_RING,
    DeviceType.CHEST_STRAP: pb.HEALTH_DEVICE_TYPE_CHEST_STRAP,
    DeviceType.PHONE: pb.HEALTH_DEVICE_TYPE_PHONE,
    DeviceType.SCALE: pb.HEALTH_DEVICE_TYPE_SCALE,
    DeviceType.OTHER: pb.HEALTH_DEVICE_TYPE_OTHER,
}
_DEVICE_TYPE_OF: dict[int, DeviceType] = {value: key for key, value in DEVICE_TYPES.items()}
_RESOLUTIONS: dict[int, Resolution] = {
    pb.ListHealthRollupsRequest.RESOLUTION_MINUTE: Resolution.MINUTE,
    pb.ListHealthRollupsRequest.RESOLUTION_HOUR: Resolution.HOUR,
    pb.ListHealthRollupsRequest.RESOLUTION_DAY: Resolution.DAY,
}
_HAS_START = methodcaller("HasField", "start_time")
_HAS_END = methodcaller("HasField", "end_time")


def device_from_proto(given: pb.HealthDevice) -> Device:
    return Device(
        _DEVICE_TYPE_OF.get(given.type, DeviceType.OTHER),
        given.manufacturer,
        given.model,
        given.name,
    )


def samples_from_proto(request: pb.BatchUploadHealthSamplesRequest) -> tuple[GivenSample, ...]:
    """The samples as sent. Every sample the platforms return has a start time: one without
    is a broken client, refused on the field, not a sample to judge."""
    given = request.samples
    if not all(map(_HAS_START, given)):
        raise InvalidArgument(
            [
                FieldViolation(f"samples[{index}].start_time", "field.required")
                for index, sample in enumerate(given)
                if not sample.HasField("start_time")
            ]
        )
    kind_of = _KIND_OF.get
    return tuple(
        GivenSample(
            sample.id,
            kind_of(sample.kind),
            sample.value,
            sample.unit,
            moment(sample.start_time),
            moment(sample.end_time) if has_end else None,
        )
        for sample, has_end in zip(given, map(_HAS_END, given), strict=True)
    )


def upload_to_proto(outcome: UploadOutcome) -> pb.BatchUploadHealthSamplesResponse:
    locale = current_locale()
    return pb.BatchUploadHealthSamplesResponse(
        accepted_count=outcome.accepted_count,
        duplicate_count=outcome.duplicate_count,
        rejections=[
            pb.BatchUploadHealthSamplesResponse.Rejection(
                index=rejection.position,
                id=rejection.id,
                reason=rejection.reason,
                message=CATALOG.translate(rejection.reason, locale),
            )
            for rejection in outcome.rejections
        ],
        deleted_count=outcome.deleted_count,
    )


def kind_from_proto(value: int, field: str) -> HealthKind:
    kind = _KIND_OF.get(value)
    if kind is None:
        raise InvalidArgument([FieldViolation(field, "field.required")])
    return kind


def resolution_from_proto(value: int, field: str) -> Resolution:
    resolution = _RESOLUTIONS.get(value)
    if resolution is None:
        raise InvalidArgument([FieldViolation(field, "field.required")])
    return resolution


def time_range_from_proto(request: pb.ListHealthRollupsRequest) -> tuple[datetime, datetime]:
    missing = [
        FieldViolation(field, "field.required")
        for field, given in (
            ("start_time", request.HasField("start_time")),
            ("end_time", request.HasField("end_time")),
        )
        if not given
    ]
    if missing:
        raise InvalidArgument(missing)
    return request.start_time.ToDatetime(UTC), request.end_time.ToDatetime(UTC)


def rollup_to_proto(rollup: Rollup) -> pb.HealthRollup:
    figures = rollup.figures
    return pb.HealthRollup(
        start_time=timestamp(rollup.start_time),
        kind=KINDS[rollup.kind],
        device_type=DEVICE_TYPES[rollup.device_type],
        min=figures.minimum,
        max=figures.maximum,
        average=figures.average,
        sum=figures.total,
        sample_count=figures.count,
        zone_seconds=list(figures.zone_seconds) if rollup.kind is HealthKind.HEART_RATE else [],
    )


def anchor_to_proto(name: str, anchor: str, update_time: datetime | None) -> pb.HealthSyncAnchor:
    message = pb.HealthSyncAnchor(name=name, anchor=anchor)
    if update_time is not None:
        message.update_time.CopyFrom(timestamp(update_time))
    return message


def priority_from_proto(given: pb.HealthSettings) -> tuple[DeviceType, ...]:
    violations = [
        FieldViolation(f"health_settings.device_priority[{index}]", "field.required")
        for index, value in enumerate(given.device_priority)
        if value not in _DEVICE_TYPE_OF
    ]
    if violations:
        raise InvalidArgument(violations)
    return tuple(_DEVICE_TYPE_OF[value] for value in given.device_priority)


def settings_to_proto(name: str, priority: tuple[DeviceType, ...]) -> pb.HealthSettings:
    return pb.HealthSettings(name=name, device_priority=[DEVICE_TYPES[kind] for kind in priority])
