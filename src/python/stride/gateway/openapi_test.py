"""The OpenAPI document describes exactly the REST surface the edge serves, in proto3 JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate

from stride.gateway.catalog import SERVICES
from stride.gateway.openapi import main, openapi_document
from stride.platform.grpc.contract import Audience

DOCUMENT = openapi_document()
OPERATIONS = {
    operation["operationId"]: (path, verb, operation)
    for path, item in DOCUMENT["paths"].items()
    for verb, operation in item.items()
}


def test_the_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    validate(DOCUMENT)


def test_every_rpc_the_edge_routes_is_an_operation_and_no_internal_one_is() -> None:
    expected = {
        f"{c.descriptor.containing_service.name}_{c.descriptor.name}": c
        for service in SERVICES
        for c in service.contracts.values()
    }
    edge = {name for name, c in expected.items() if c.access.audience is not Audience.INTERNAL}
    assert set(OPERATIONS) == edge
    assert "BillingService_ReleaseHold" not in OPERATIONS


def test_only_public_operations_go_without_a_bearer_token() -> None:
    assert DOCUMENT["security"] == [{"bearerAuth": []}]
    open_operations = {name for name, (_, _, op) in OPERATIONS.items() if op.get("security") == []}
    assert "IdentityService_SignIn" in open_operations
    assert "BillingService_ReceiveStripeEvent" in open_operations
    assert all(OPERATIONS[name][2]["x-stride-access"] == "public" for name in open_operations)


def test_resource_names_become_one_path_parameter_per_id() -> None:
    path, verb, operation = OPERATIONS["SchedulingService_CancelBooking"]
    assert (path, verb) == ("/v1/users/{user}/bookings/{booking}:cancel", "post")
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["user", "booking"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "name" not in body["properties"]  # Bound by the path, not sent again.


def schema(name: str) -> dict[str, Any]:
    return dict(DOCUMENT["components"]["schemas"][name])


def test_the_contract_s_bounds_and_behaviours_are_published() -> None:
    _, _, sign_in = OPERATIONS["IdentityService_SignIn"]
    body = sign_in["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["email"]["maxLength"] == 254
    assert body["properties"]["studio"]["maxLength"] == 256  # The platform's default.
    assert set(body["required"]) >= {"email", "password"}
    _, _, listing = OPERATIONS["SchedulingService_ListBookings"]
    page_size = next(p for p in listing["parameters"] if p["name"] == "pageSize")
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (0, 1000)
    booking = schema("stride.scheduling.v1.Booking")
    assert booking["properties"]["state"]["readOnly"] is True
    assert booking["properties"]["classSession"]["maxLength"] == 256
    assert booking["additionalProperties"] is False
    assert (
        "STATE_CONFIRMED" in schema("stride.scheduling.v1.Booking")["properties"]["state"]["enum"]
    )


def test_proto3_json_forms_of_well_known_and_64_bit_types() -> None:
    session = schema("stride.scheduling.v1.ClassSession")["properties"]
    assert session["startTime"]["format"] == "date-time"
    money = schema("stride.billing.v1.Money")["properties"]
    assert money["amountMinor"]["type"] == "string"  # int64, as proto3 JSON writes it.
    _, _, watch = OPERATIONS["SchedulingService_WatchBookings"]
    streamed = watch["responses"]["200"]["content"]["application/json"]["schema"]
    assert streamed["type"] == "array"


def test_event_streams_are_documented_as_server_sent_events_of_one_message_each() -> None:
    _, _, watch = OPERATIONS["ActivityService_WatchWorkoutSession"]
    assert watch["responses"]["200"]["content"] == {
        "text/event-stream": {
            "schema": {"$ref": "#/components/schemas/stride.activity.v1.LiveUpdate"}
        }
    }


def test_errors_are_google_rpc_statuses() -> None:
    for _, _, operation in OPERATIONS.values():
        error = operation["responses"]["default"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/google.rpc.Status"}


def test_the_command_writes_the_document(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path / "openapi.json")]) == 0
    assert json.loads((tmp_path / "openapi.json").read_text()) == DOCUMENT
