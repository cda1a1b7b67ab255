"""A server process we start and own: logs to a file, waits until ready, stops gracefully."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_LOG_TAIL_BYTES = 4000


class ProcessFailedError(RuntimeError):
    pass


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name, self._argv, self.log_path = name, list(argv), log_path
        self._env = {**os.environ, **(env or {})}
        self._cwd, self._user = cwd, user
        self._process: subprocess.Popen[bytes] | None = None
        self._log_start = 0  # Where this run's output begins in the (appended) log.

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._log_start = log.tell()
            self._process = subprocess.Popen(
                self._argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                user=self._user,
                start_new_session=True,  # Ctrl-C in the terminal reaches only our supervisor.
            )

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise ProcessFailedError(f"{self.name} exited early:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.05)
        raise ProcessFailedError(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
        self._signal_and_wait(signal.SIGTERM, timeout)

    def kill(self, *, with_children: bool = False) -> None:
        """SIGKILL, as a crash would; `with_children` kills its whole process group too (a
        server's workers die with the machine, not after it)."""
        if with_children and self.is_running():
            assert self._process is not None  # noqa: S101 - is_running() checked it.
            os.killpg(self._process.pid, signal.SIGKILL)  # Its own session: see start().
        self._signal_and_wait(signal.SIGKILL, 10.0)

    def _signal_and_wait(self, signum: signal.Signals, timeout: float) -> None:
        if not self.is_running():
            return
        assert self._process is not None  # noqa: S101 - is_running() checked it.
        self._process.send_signal(signum)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def log_tail(self) -> str:
        """The end of what this run wrote: a restart's readiness is never read from the run
        before (the log is appended to, so it keeps every run's)."""
        if not self.log_path.exists():
            return "(no log)"
        with self.log_path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(self._log_start, log.tell() - _LOG_TAIL_BYTES))
            return log.read().decode(errors="replace")
