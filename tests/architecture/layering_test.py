"""How the services are layered, checked on the code as it runs: a service's domain loads
nothing that brings in a database, gRPC or protobuf, however indirectly, and no service loads
the gateway, which reads the services' contracts and never the reverse (ADR 0010)."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import pytest

import stride.identity.domain
import stride.notifications.domain
import stride.scheduling.domain

INFRASTRUCTURE = ("sqlalchemy", "sqlmodel", "asyncpg", "alembic", "grpc", "google.protobuf")
DOMAINS = {
    "identity": stride.identity.domain,
    "notifications": stride.notifications.domain,
    "scheduling": stride.scheduling.domain,
}


def loaded_by(modules: list[str]) -> set[str]:
    """Every module that importing `modules` loads, in an interpreter of their own."""
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]: importlib.import_module(name)\n"
        "print('\\n'.join(sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script, *modules],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    return set(loaded.stdout.split())


@pytest.mark.parametrize("service", sorted(DOMAINS))
def test_a_domain_loads_no_infrastructure(service: str) -> None:
    package = DOMAINS[service]
    modules = [
        f"{package.__name__}.{found.name}"
        for found in pkgutil.iter_modules(package.__path__)
        if not found.name.endswith("_test")
    ]
    loaded = loaded_by(modules)
    assert set(modules) <= loaded
    assert sorted(m for m in loaded if m.startswith(INFRASTRUCTURE)) == []


@pytest.mark.parametrize("service", ["billing", "identity", "notifications", "scheduling"])
def test_no_service_loads_the_gateway(service: str) -> None:
    loaded = loaded_by([f"stride.{service}.main"])
    assert f"stride.{service}.main" in loaded
    assert sorted(m for m in loaded if m.startswith("stride.gateway")) == []
