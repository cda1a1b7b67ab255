"""Executables shipped inside wheels (nats-server, buf) found through package metadata."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path


def wheel_script(distribution: str, name: str) -> Path:
    """The installed path of script `name` from `distribution`, whatever the install layout."""
    for file in metadata.distribution(distribution).files or ():
        if file.name == name and file.parent.name in {"bin", "scripts"}:
            path = Path(str(metadata.distribution(distribution).locate_file(file))).resolve()
            if path.exists():
                return path
    raise FileNotFoundError(f"{distribution} does not provide an executable named {name}")
