"""Uploaded activity files' outcomes and best efforts between protobuf and the domain."""

from __future__ import annotations

from collections.abc import Mapping

from stride.activity.domain.activity_files import RouteState
from stride.activity.domain.best_efforts import BestEffort
from stride.activity.entrypoints.provider_protos import imported_to_proto
from stride.activity.service_layer.activity_files import UploadedFile
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.grpc.timestamps import timestamp
from stride.platform.i18n import CATALOG, current_locale

GPX = "application/gpx+xml"

_ROUTE_STATES = {
    RouteState.STORED: pb.UploadActivityFileResponse.ROUTE_STATE_STORED,
    RouteState.DROPPED_NO_CONSENT: pb.UploadActivityFileResponse.ROUTE_STATE_DROPPED_NO_CONSENT,
    RouteState.NONE: pb.UploadActivityFileResponse.ROUTE_STATE_NONE,
}


def uploaded_to_proto(uploaded: UploadedFile) -> pb.UploadActivityFileResponse:
    return pb.UploadActivityFileResponse(
        imported_activity=imported_to_proto(uploaded.activity),
        created=uploaded.created,
        route_state=_ROUTE_STATES[uploaded.route_state],
        kept_points=uploaded.kept_points,
        dropped_points=_dropped(uploaded.dropped_points),
        stored_heart_rates=uploaded.stored_heart_rates,
        dropped_heart_rates=_dropped(uploaded.dropped_heart_rates),
        best_efforts=[best_effort_to_proto(effort) for effort in uploaded.best_efforts],
    )


def _dropped(counts: Mapping[str, int]) -> list[pb.DroppedCount]:
    locale = current_locale()
    return [
        pb.DroppedCount(reason=reason, message=CATALOG.translate(reason, locale), count=count)
        for reason, count in sorted(counts.items())
    ]


def best_effort_to_proto(effort: BestEffort) -> pb.BestEffort:
    return pb.BestEffort(
        name=effort.resource_name,
        distance_meters=effort.distance.meters,
        elapsed_time_seconds=effort.elapsed_seconds,
        imported_activity=effort.activity_name,
        start_time=timestamp(effort.start_time),
        achieve_time=timestamp(effort.achieve_time),
    )
