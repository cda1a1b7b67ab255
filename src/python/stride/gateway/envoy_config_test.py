from dataclasses import replace
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

from stride.gateway.catalog import IDENTITY, SERVICES
from stride.gateway.descriptors import build_descriptor_set
from stride.gateway.envoy_config import EdgeSettings, render, rest_path_regex
from stride.platform.grpc.client_address import CLIENT_ADDRESS_METADATA_KEY
from stride.platform.local.envoy import validate_config, write_config


def settings(tmp_path: Path, upstreams: dict[str, tuple[str, int]]) -> EdgeSettings:
    descriptor = tmp_path / "descriptor.binpb"
    descriptor.write_bytes(build_descriptor_set([d for s in SERVICES for d in s.descriptors]))
    return EdgeSettings(
        listen_port=18080, admin_port=19901, descriptor_path=descriptor, upstreams=upstreams
    )


def test_descriptor_set_holds_services_their_imports_and_error_details() -> None:
    files = descriptor_pb2.FileDescriptorSet.FromString(
        build_descriptor_set(IDENTITY.descriptors)
    ).file
    names = [file.name for file in files]
    assert "stride/identity/v1/identity_service.proto" in names
    assert "google/rpc/error_details.proto" in names
    # Dependencies come before the files that import them.
    assert names.index("google/api/http.proto") < names.index("google/api/annotations.proto")
    assert names.index("google/api/annotations.proto") < names.index(
        "stride/identity/v1/identity_service.proto"
    )


def test_the_rendered_config_is_valid_for_envoy(tmp_path: Path) -> None:
    config = render(
        SERVICES, settings(tmp_path, {s.name: ("127.0.0.1", s.local_port) for s in SERVICES})
    )
    validate_config(write_config(config, tmp_path / "envoy.json"))


def test_a_catalog_entry_is_all_it_takes_to_route_a_service(tmp_path: Path) -> None:
    scheduling = replace(
        IDENTITY,
        name="scheduling",
        grpc_services=("stride.scheduling.v1.SchedulingService",),
        local_port=50102,
    )
    config = render(
        [IDENTITY, scheduling],
        settings(tmp_path, {"identity": ("127.0.0.1", 1), "scheduling": ("127.0.0.1", 2)}),
    )
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    routes = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"
    ]["route_config"]["virtual_hosts"][0]["routes"]
    assert clusters["scheduling"]["health_checks"][0]["grpc_health_check"]["service_name"] == (
        "stride.scheduling.v1.SchedulingService"
    )
    matches = [route["match"] for route in routes]
    assert {"path": "/stride.scheduling.v1.SchedulingService/CreateBooking"} in matches


def test_only_what_the_contracts_expose_is_routed(tmp_path: Path) -> None:
    config = render(
        SERVICES, settings(tmp_path, {s.name: ("127.0.0.1", s.local_port) for s in SERVICES})
    )
    routes = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"
    ]["route_config"]["virtual_hosts"][0]["routes"]
    routed = {route["match"].get("path") for route in routes}
    exposed = {contract.path for service in SERVICES for contract in service.edge_methods}
    internal = {
        "/stride.billing.v1.BillingService/HoldCredit",
        "/stride.billing.v1.BillingService/ReleaseHold",
    }
    assert routed - {None} == exposed
    assert not internal & routed
    # Whatever matches no RPC's route is answered by the edge itself: not found.
    assert routes[-1] == {"match": {"prefix": "/"}, "direct_response": {"status": 404}}


def test_a_service_without_an_upstream_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="identity"):
        render(SERVICES, settings(tmp_path, {}))


def test_envoy_explains_an_invalid_config(tmp_path: Path) -> None:
    path = write_config({"static_resources": {"clusters": [{"name": 1}]}}, tmp_path / "bad.json")
    with pytest.raises(ValueError, match="invalid Envoy config"):
        validate_config(path)


def test_auth_routes_keep_a_bucket_per_client_address_and_refresh_its_own(tmp_path: Path) -> None:
    config = render(
        SERVICES, settings(tmp_path, {s.name: ("127.0.0.1", s.local_port) for s in SERVICES})
    )
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"
    ]
    routes = {
        route["match"].get("path"): route
        for route in manager["route_config"]["virtual_hosts"][0]["routes"]
    }
    defaults = EdgeSettings(listen_port=1, admin_port=2, descriptor_path=tmp_path, upstreams={})

    def per_client_bucket(method: str) -> dict[str, object]:
        limit = routes[f"/stride.identity.v1.IdentityService/{method}"]["typed_per_filter_config"][
            "envoy.filters.http.local_ratelimit"
        ]
        client = {"v4_prefix_mask_len": 32, "v6_prefix_mask_len": 64}
        assert limit["rate_limits"] == [{"actions": [{"masked_remote_address": client}]}]
        (descriptor,) = limit["descriptors"]
        # No value: a bucket per client.
        assert descriptor["entries"] == [{"key": "masked_remote_address"}]
        assert limit["always_consume_default_token_bucket"] is False
        return dict(descriptor["token_bucket"])

    assert per_client_bucket("SignIn")["max_tokens"] == defaults.auth_burst_per_client
    assert per_client_bucket("RequestPasswordReset")["tokens_per_fill"] == (
        defaults.auth_per_second_per_client
    )
    refresh = per_client_bucket("RefreshSession")
    assert refresh["max_tokens"] == defaults.refresh_burst_per_client
    assert refresh["tokens_per_fill"] == defaults.refresh_per_second_per_client
    # The address services read is the one Envoy trusts, whatever the client sent.
    assert manager["use_remote_address"] is True
    assert manager["xff_num_trusted_hops"] == 0
    (client_address,) = manager["route_config"]["virtual_hosts"][0]["request_headers_to_add"]
    assert client_address == {
        "header": {
            "key": CLIENT_ADDRESS_METADATA_KEY,
            "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
        },
        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
    }


def _routes(tmp_path: Path) -> list[dict]:
    config = render(
        SERVICES, settings(tmp_path, {s.name: ("127.0.0.1", s.local_port) for s in SERVICES})
    )
    return list(
        config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
            "typed_config"
        ]["route_config"]["virtual_hosts"][0]["routes"]
    )


def test_streams_have_no_route_timeout_and_calls_keep_theirs(tmp_path: Path) -> None:
    by_path = {route["match"].get("path"): route for route in _routes(tmp_path)}
    for rpc in (
        "/stride.scheduling.v1.SchedulingService/WatchBookings",
        "/stride.activity.v1.ActivityService/WatchWorkoutSession",
        "/stride.activity.v1.ActivityService/WatchClassHeartRates",
    ):
        assert by_path[rpc]["route"]["timeout"] == "0s"
    assert by_path["/stride.activity.v1.ActivityService/RecordHeartRate"]["route"]["timeout"] == (
        "30s"
    )


def test_only_event_stream_rpcs_are_framed_as_server_sent_events(tmp_path: Path) -> None:
    """The transcoder reads its per-route settings from the route matching the REST path the
    client sent, before it rewrites the path; WatchBookings keeps its JSON array."""
    framed = {
        route["match"]["safe_regex"]["regex"]: route["typed_per_filter_config"][
            "envoy.filters.http.grpc_json_transcoder"
        ]["print_options"]
        for route in _routes(tmp_path)
        if "safe_regex" in route["match"]
    }
    assert set(framed) == {
        "/v1/users/[^/]+/workoutSessions/[^/]+:watch",
        "/v1/studios/[^/]+/classSessions/[^/]+/heartRates:watch",
    }
    assert all(options["stream_sse_style_delimited"] for options in framed.values())
    assert all(options["always_print_primitive_fields"] for options in framed.values())


@pytest.mark.parametrize(
    ("template", "regex"),
    [
        (
            "/v1/{name=users/*/workoutSessions/*}:watch",
            "/v1/users/[^/]+/workoutSessions/[^/]+:watch",
        ),
        ("/v1/{parent}/items", "/v1/[^/]+/items"),
        ("/v1/{name=files/**}", "/v1/files/.+"),
        ("/v1/a.b", "/v1/a\\.b"),
    ],
)
def test_rest_path_regex(template: str, regex: str) -> None:
    assert rest_path_regex(template) == regex
