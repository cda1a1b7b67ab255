"""The committed manifests build, pass the Kubernetes schemas, and agree with the catalog."""

from pathlib import Path
from typing import Any

import pytest

from kube.kustomize import build, kustomizations, validate
from stride.gateway.catalog import SERVICES, ServiceEntry

ROOT = Path("k8s")


@pytest.mark.parametrize("directory", kustomizations(ROOT), ids=str)
def test_every_kustomization_builds_into_valid_objects(directory: Path) -> None:
    manifests = build(directory)
    assert manifests
    validate(manifests)


def by_kind_and_name(kind: str, name: str) -> dict[str, Any]:
    (match,) = [
        m
        for m in build(ROOT / "overlays" / "production")
        if m["kind"] == kind and m["metadata"]["name"] == name
    ]
    return match


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_each_catalog_service_is_deployed_on_its_port_with_grpc_health(
    service: ServiceEntry,
) -> None:
    pod = by_kind_and_name("Deployment", service.name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"name": "grpc", "containerPort": service.local_port} in container["ports"]
    assert container["readinessProbe"]["grpc"] == {
        "port": service.local_port,
        "service": service.grpc_services[0],
    }
    assert container["image"].startswith("registry.stride.example/")
    ports = by_kind_and_name("Service", service.name)["spec"]["ports"]
    assert any(p["port"] == service.local_port and p["appProtocol"] == "grpc" for p in ports)


def test_production_pins_every_image() -> None:
    for manifest in build(ROOT / "overlays" / "production"):
        pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            assert ":" in container["image"], container["name"]


def secret_refs(deployment: str, variable: str) -> list[dict[str, str]]:
    (container,) = by_kind_and_name("Deployment", deployment)["spec"]["template"]["spec"][
        "containers"
    ]
    return [
        env["valueFrom"]["secretKeyRef"]
        for env in container["env"]
        if env["name"] == variable and "secretKeyRef" in env.get("valueFrom", {})
    ]


def test_only_identity_and_notifications_hold_the_event_secret_keys_from_one_secret() -> None:
    for variable in ("STRIDE_EVENT_SECRET_KEYS", "STRIDE_EVENT_SECRET_KEY_ACTIVE"):
        holders = {service.name: secret_refs(service.name, variable) for service in SERVICES}
        assert {name for name, refs in holders.items() if refs} == {"identity", "notifications"}
        assert holders["identity"] == holders["notifications"]
        assert holders["identity"][0]["name"] == "event-secrets"
