"""Provider connections and imported activities between protobuf and the domain."""

from __future__ import annotations

import uuid

from stride.activity.domain.providers import (
    ConnectionState,
    ImportedActivity,
    Provider,
    ProviderConnection,
    provider_named,
)
from stride.activity.v1 import activity_service_pb2 as pb
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.timestamps import timestamp
from stride.platform.resource_names import parse_resource_name, parse_user_name

_STATES = {
    ConnectionState.CONNECTED: pb.ProviderConnection.STATE_CONNECTED,
    ConnectionState.DISCONNECTING: pb.ProviderConnection.STATE_DISCONNECTING,
}


def connection_ids(name: str, field: str) -> tuple[uuid.UUID, Provider]:
    """`users/{user}/providerConnections/{provider}` → (member id, provider)."""
    user, provider = parse_resource_name(
        name,
        ("users", "providerConnections"),
        field=field,
        message_key="provider_connection.invalid_name",
    )
    found = provider_named(provider)
    if found is None:
        raise InvalidArgument([FieldViolation(field, "provider_connection.unknown_provider")])
    return parse_user_name(f"users/{user}", field), found


def connection_to_proto(connection: ProviderConnection) -> pb.ProviderConnection:
    return pb.ProviderConnection(
        name=connection.resource_name,
        provider_account=connection.account_id,
        scopes=list(connection.scopes),
        state=_STATES[connection.state],
        create_time=timestamp(connection.create_time),
        update_time=timestamp(connection.update_time),
    )


def imported_to_proto(activity: ImportedActivity) -> pb.ImportedActivity:
    data = activity.data
    message = pb.ImportedActivity(
        name=activity.resource_name,
        source=activity.provider.value,
        external_id=data.external_id,
        display_name=data.display_name,
        sport_type=data.sport_type,
        start_time=timestamp(data.start_time),
        elapsed_time_seconds=data.elapsed_seconds,
        moving_time_seconds=data.moving_seconds,
        distance_meters=data.distance_meters,
        elevation_gain_meters=data.elevation_gain_meters,
        update_time=timestamp(activity.update_time),
    )
    if data.average_heart_rate is not None:
        message.average_heart_rate = data.average_heart_rate
    if data.max_heart_rate is not None:
        message.max_heart_rate = data.max_heart_rate
    return message
