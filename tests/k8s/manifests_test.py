"""The committed manifests build, pass the Kubernetes schemas, and agree with the catalog."""

from pathlib import Path
from typing import Any

import pytest

from kube.kustomize import build, kustomizations, validate
from stride.activity.config import ActivitySettings
from stride.billing.config import BillingSettings
from stride.gateway.catalog import SERVICES, ServiceEntry
from stride.gateway.envoy_config import JWKS_PATH
from stride.identity.config import IdentitySettings
from stride.notifications.config import NotificationsSettings
from stride.platform.config import ENV_PREFIX, ServiceSettings
from stride.platform.grpc.contract import Audience
from stride.scheduling.config import SchedulingSettings

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


def service_container(deployment: str) -> dict[str, Any]:
    pod = by_kind_and_name("Deployment", deployment)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return dict(container)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_each_catalog_service_is_deployed_on_its_port_with_grpc_health(
    service: ServiceEntry,
) -> None:
    container = service_container(service.name)
    assert {"name": "grpc", "containerPort": service.local_port} in container["ports"]
    assert container["readinessProbe"]["grpc"] == {
        "port": service.local_port,
        "service": service.grpc_services[0],
    }
    assert container["image"].startswith("registry.stride.example/")
    ports = by_kind_and_name("Service", service.name)["spec"]["ports"]
    assert any(p["port"] == service.local_port and p["appProtocol"] == "grpc" for p in ports)


def test_production_pins_every_image() -> None:
    containers = [
        container
        for manifest in build(ROOT / "overlays" / "production")
        for pod in [manifest.get("spec", {}).get("template", {}).get("spec", {})]
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]
    ]
    # Every service's container and the edge's were looked at, not just whatever was found.
    looked_at = {container["name"] for container in containers}
    assert looked_at >= {service.name for service in SERVICES} | {"envoy", "render-config"}
    assert [c["name"] for c in containers if ":" not in c["image"]] == []


def environment(service: ServiceEntry) -> set[str]:
    return {variable["name"] for variable in service_container(service.name)["env"]}


def env_value(service: ServiceEntry, variable: str) -> str | None:
    """A variable's literal value in the service's Deployment (None: unset or a reference)."""
    found = service_container(service.name)["env"]
    return next((v.get("value") for v in found if v["name"] == variable), None)


SETTINGS: dict[str, type[ServiceSettings]] = {
    "identity": IdentitySettings,
    "scheduling": SchedulingSettings,
    "billing": BillingSettings,
    "notifications": NotificationsSettings,
    "activity": ActivitySettings,
}


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_each_deployment_sets_what_its_service_requires(service: ServiceEntry) -> None:
    required = {
        ENV_PREFIX + name.upper()
        for name, field in SETTINGS[service.name].model_fields.items()
        if field.is_required()
    }
    assert required <= environment(service)


def test_internal_rpcs_callers_hold_keys_and_their_services_trust_keys() -> None:
    by_name = {service.name: service for service in SERVICES}
    for service in SERVICES:
        for contract in service.methods_for(Audience.INTERNAL):
            assert "STRIDE_TRUSTED_SERVICE_KEYS" in environment(service), contract.path
            for caller in contract.access.callers:
                assert "STRIDE_SERVICE_KEY" in environment(by_name[caller]), (contract.path, caller)


def test_services_that_take_members_tokens_fetch_identity_s_keys_through_the_edge() -> None:
    """Without a key source a service refuses every access token (it fails closed): every RPC
    but the public and internal ones would be UNAUTHENTICATED. Identity verifies with its own
    key table; the others fetch its JWKS as the edge publishes it, over the edge's Service."""
    takers = [
        service
        for service in SERVICES
        if service.name != "identity"
        and service.methods_for(Audience.SIGNED_IN, Audience.OWNER, Audience.STAFF)
    ]
    (edge_port,) = [
        p["port"]
        for p in by_kind_and_name("Service", "edge")["spec"]["ports"]
        if p["name"] == "http"
    ]
    expected = f"http://edge:{edge_port}{JWKS_PATH}"
    assert takers
    assert {s.name: env_value(s, "STRIDE_JWKS_URL") for s in takers} == {
        s.name: expected for s in takers
    }


def secret_refs(deployment: str, variable: str) -> list[dict[str, str]]:
    return [
        env["valueFrom"]["secretKeyRef"]
        for env in service_container(deployment)["env"]
        if env["name"] == variable and "secretKeyRef" in env.get("valueFrom", {})
    ]


def test_only_identity_and_notifications_hold_the_event_secret_keys_from_one_secret() -> None:
    for variable in ("STRIDE_EVENT_SECRET_KEYS", "STRIDE_EVENT_SECRET_KEY_ACTIVE"):
        holders = {service.name: secret_refs(service.name, variable) for service in SERVICES}
        assert {name for name, refs in holders.items() if refs} == {"identity", "notifications"}
        assert holders["identity"] == holders["notifications"]
        assert holders["identity"][0]["name"] == "event-secrets"


def test_the_edge_sees_each_client_s_own_address() -> None:
    """The edge's load balancer keeps source addresses (the default, Cluster, puts a node's in
    their place), and the edge, reached directly, trusts no x-forwarded-for entry: per-client
    rate limits and Identity's per-address throttle then key on the member's address."""
    service = by_kind_and_name("Service", "edge")["spec"]
    assert service["type"] == "LoadBalancer"
    assert service["externalTrafficPolicy"] == "Local"
    pod = by_kind_and_name("Deployment", "edge")["spec"]["template"]["spec"]
    (render,) = [c for c in pod["initContainers"] if c["name"] == "render-config"]
    trusted = [arg for arg in render["args"] if arg.startswith("--trusted-proxy-hops")]
    assert trusted in ([], ["--trusted-proxy-hops=0"])
