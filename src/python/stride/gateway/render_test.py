import json
from pathlib import Path

from google.protobuf import descriptor_pb2

from stride.gateway.catalog import SERVICES
from stride.gateway.render import CONFIG_NAME, DESCRIPTOR_NAME, main
from stride.platform.local.certificates import self_signed_certificate
from stride.platform.local.envoy import validate_config


def test_the_kubernetes_bundle_routes_to_service_names_and_is_valid(tmp_path: Path) -> None:
    main(
        [
            "--out",
            str(tmp_path),
            "--listen-address",
            "0.0.0.0",  # noqa: S104 - a pod's listener; validated, never bound, here.
            "--upstream-host",
            "{name}.stride.svc.cluster.local",
            "--cors-origin",
            "https://app.stride.example",
        ]
    )
    config_path = tmp_path / CONFIG_NAME
    validate_config(config_path)
    config = json.loads(config_path.read_text())
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    for service in SERVICES:
        cluster = clusters[service.name]
        assert cluster["type"] == "STRICT_DNS"
        address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        assert address["address"]["socket_address"] == {
            "address": f"{service.name}.stride.svc.cluster.local",
            "port_value": service.local_port,
        }
    files = descriptor_pb2.FileDescriptorSet.FromString((tmp_path / DESCRIPTOR_NAME).read_bytes())
    assert {d.name for s in SERVICES for d in s.descriptors} <= {f.name for f in files.file}


def test_local_upstreams_are_static_loopback_addresses(tmp_path: Path) -> None:
    main(["--out", str(tmp_path)])
    config = json.loads((tmp_path / CONFIG_NAME).read_text())
    listener = config["static_resources"]["listeners"][0]["address"]["socket_address"]
    assert listener["address"] == "127.0.0.1"
    assert {c["type"] for c in config["static_resources"]["clusters"]} == {"STATIC"}


def test_a_tls_listener_is_added_and_valid(tmp_path: Path) -> None:
    certificate, key = self_signed_certificate(tmp_path / "tls")
    main(
        [
            "--out",
            str(tmp_path),
            "--tls-port",
            "18443",
            "--tls-cert",
            str(certificate),
            "--tls-key",
            str(key),
        ]
    )
    validate_config(tmp_path / CONFIG_NAME)
    listeners = json.loads((tmp_path / CONFIG_NAME).read_text())["static_resources"]["listeners"]
    assert [listener["name"] for listener in listeners] == ["edge", "edge_tls"]
    tls = listeners[1]["filter_chains"][0]["transport_socket"]["typed_config"]
    assert tls["common_tls_context"]["alpn_protocols"] == ["h2", "http/1.1"]


def test_behind_an_l7_load_balancer_its_hop_is_trusted(tmp_path: Path) -> None:
    main(["--out", str(tmp_path), "--trusted-proxy-hops", "1"])
    validate_config(tmp_path / CONFIG_NAME)
    config = json.loads((tmp_path / CONFIG_NAME).read_text())
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    assert manager["typed_config"]["xff_num_trusted_hops"] == 1
