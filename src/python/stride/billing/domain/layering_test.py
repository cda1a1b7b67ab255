"""Billing's domain is pure rules and the types its ports speak: nothing it imports, however
indirectly, brings in a database driver, gRPC or protobuf."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
from pathlib import Path

import stride.billing.domain

FORBIDDEN = ("sqlalchemy", "sqlmodel", "asyncpg", "alembic", "grpc", "google.protobuf")


def test_domain_modules_import_no_infrastructure() -> None:
    roots = [
        f"stride.billing.domain.{found.name}"
        for found in pkgutil.iter_modules(stride.billing.domain.__path__)
        if not found.name.endswith("_test")
    ]
    seen, pending, offending = set(roots), list(roots), []
    while pending:
        module = pending.pop()
        for imported in _imports(module):
            if imported.startswith(FORBIDDEN):
                offending.append(f"{module} imports {imported}")
            elif imported.startswith("stride.") and imported not in seen:
                seen.add(imported)
                pending.append(imported)
    assert "stride.billing.domain.payments" in seen
    assert offending == []


def _imports(module: str) -> set[str]:
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
            if node.module.startswith("stride.") and _is_package(node.module):
                found.update(
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if importlib.util.find_spec(f"{node.module}.{alias.name}") is not None
                )
    return found


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None
