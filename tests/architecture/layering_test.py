"""How the services are layered, checked on the code as it runs and as it reads: a service's
domain loads nothing that brings in a database, gRPC or protobuf, however indirectly, and names
none of it even in imports that run late; and no service loads the gateway, which reads the
services' contracts and never the reverse (ADR 0010). Every service in the catalog is checked:
one added later fails here until tests/architecture/BUILD ships its domain and its main."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from stride.gateway.catalog import SERVICES, ServiceEntry

INFRASTRUCTURE = ("sqlalchemy", "sqlmodel", "asyncpg", "alembic", "grpc", "google.protobuf")
by_name = pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)


def domain_modules(service: ServiceEntry) -> list[str]:
    package = importlib.import_module(f"stride.{service.name}.domain")
    return [
        f"{package.__name__}.{found.name}"
        for found in pkgutil.iter_modules(package.__path__)
        if not found.name.endswith("_test")
    ]


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


@by_name
def test_a_domain_loads_no_infrastructure(service: ServiceEntry) -> None:
    modules = domain_modules(service)
    loaded = loaded_by(modules)
    assert set(modules) <= loaded
    assert sorted(m for m in loaded if m.startswith(INFRASTRUCTURE)) == []


@by_name
def test_a_domain_names_no_infrastructure_even_in_imports_that_run_late(
    service: ServiceEntry,
) -> None:
    """What loading the modules cannot see: imports inside functions or under TYPE_CHECKING,
    read from the source of the domain and of every stride module it imports, however
    indirectly."""
    modules = domain_modules(service)
    seen, pending, offending = set(modules), list(modules), []
    while pending:
        module = pending.pop()
        for imported in imports_in_source(module):
            if imported.startswith(INFRASTRUCTURE):
                offending.append(f"{module} imports {imported}")
            elif imported.startswith("stride.") and imported not in seen:
                seen.add(imported)
                pending.append(imported)
    assert offending == []


def imports_in_source(module: str) -> set[str]:
    """The absolute imports in a module's source, a `from package import module` as the module."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return set()
    found: set[str] = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module.startswith("stride.") and is_package(node.module):
                found.update(
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                )
    return found


def is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


@by_name
def test_no_service_loads_the_gateway(service: ServiceEntry) -> None:
    loaded = loaded_by([service.main_module])
    assert service.main_module in loaded
    assert sorted(m for m in loaded if m.startswith("stride.gateway")) == []
