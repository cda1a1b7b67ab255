"""`./pants up` on a fresh machine: a clone of this repository's HEAD in a scratch directory,
run with an empty home — no Pants, no build tools, no Pants store or named caches, no pip
cache — so every phase a new engineer waits for is timed, and the caches other engineers
share are left alone.

    ./pants run tools/bench/first_run:first_run
    PYTHONPATH=src/python python3.11 tools/bench/first_run/bench.py   # before any bootstrap

Phases, each from the clone's own output: the bootstrap (`./pants --version`: Pants installed
from PyPI, the build tools provisioned, pantsd started), then `./pants up` until it prints that
the stack is healthy — the PEX builds (resolving and downloading the lockfile's wheels, the
sources, code generation) are that wall time less the stack's own start-to-healthy, which
`./pants up` prints. The stack is then stopped as Ctrl-C would, and the clone's pantsd with
it. Python 3.9 and 3.11 are expected where `./pants` looks for them (PATH or pyenv), as on any
machine set up per the README; the package registries are the only network. The stack binds
the catalog's service ports: stop any other stack first.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from stride.platform.local.ports import free_port

HEALTHY = re.compile(r"healthy in ([0-9.]+) s")
STOP_TIMEOUT_SECONDS = 60
# What a fresh machine's shell has, besides the empty home: where Python is, and how to trust
# the registries (a proxy's CA bundle). Nothing that points at an existing cache.
KEPT_VARIABLES = (
    "PATH",
    "PYENV_ROOT",
    "LANG",
    "TERM",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "PIP_CERT",
    "PIP_DEFAULT_TIMEOUT",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


def fresh_environment(home: Path) -> dict[str, str]:
    environment = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    # pyenv's default root is under the home this run replaces: keep pointing at the real one.
    environment.setdefault("PYENV_ROOT", str(Path.home() / ".pyenv"))
    return environment | {"HOME": str(home)}


def run_timed(
    command: list[str], cwd: Path, environment: dict[str, str], *, until: re.Pattern[str] | None
) -> tuple[subprocess.Popen[str], float, re.Match[str] | None]:
    """Runs `command`, echoing its output with the seconds since it started; returns when it
    exits or, with `until`, when a line matches (the process is then left running)."""
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None  # noqa: S101 - stdout=PIPE above.
    for line in process.stdout:
        print(f"  [{time.monotonic() - started:6.1f} s] {line.rstrip()}", flush=True)
        if until and (match := until.search(line)):
            # Keep reading, so the process never blocks on a full pipe.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, time.monotonic() - started, match
    process.wait()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    return process, time.monotonic() - started, None


def free_ports() -> list[str]:
    """Every port `./pants up` takes an option for, free ones (the services' ports are the
    catalog's)."""
    options = ("rest", "tls", "admin", "postgres", "nats", "stripe")
    return [f"--{option}-port={free_port()}" for option in options]


def processes_under(scratch: Path) -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every process whose command line names `scratch`:
    the clone's pantsd, `./pants up` and all it started (services, servers, Envoy)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if str(scratch) in command and entry.name.isdigit() and int(entry.name) != os.getpid():
            found[int(entry.name)] = (parent, command)
    return found


def stop_stack(scratch: Path) -> None:
    """Ctrl-C to `./pants up` itself — under pantsd it is not in our process group — so it
    stops the stack in order; then the clone's pantsd; whatever is left after that is killed."""
    running = processes_under(scratch)
    supervisors = {
        parent for parent, command in running.values() if "-m stride.identity.main" in command
    }
    for pid in supervisors:
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while supervisors & processes_under(scratch).keys() and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid_file in (scratch / "stride" / ".pids").glob("**/pantsd/pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while processes_under(scratch) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in processes_under(scratch):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repository", type=Path, default=Path.cwd(), help="what to clone (its HEAD)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="stride-first-run-"))
    scratch.chmod(0o755)  # The embedded Postgres may run as another user (see local.postgres).
    clone, home = scratch / "stride", scratch / "home"
    home.mkdir()
    environment = fresh_environment(home)
    up: subprocess.Popen[str] | None = None
    try:
        subprocess.run(["git", "clone", "--quiet", str(args.repository), str(clone)], check=True)
        print("bootstrap: ./pants --version", flush=True)
        _, bootstrap, _ = run_timed(["./pants", "--version"], clone, environment, until=None)
        print("first ./pants up", flush=True)
        up, to_healthy, match = run_timed(
            ["./pants", "up", "--data-dir", str(scratch / "data"), *free_ports()],
            clone,
            environment,
            until=HEALTHY,
        )
        if match is None:
            raise SystemExit("./pants up exited before the stack was healthy")
        stack = float(match.group(1))
        print(
            f"\nfresh machine, first run: {bootstrap + to_healthy:.1f} s to a healthy stack\n"
            f"  bootstrap (Pants, build tools, pantsd)   {bootstrap:6.1f} s\n"
            f"  PEX builds and Pants' own work           {to_healthy - stack:6.1f} s\n"
            f"  stack start to healthy (./pants up)      {stack:6.1f} s",
            flush=True,
        )
    finally:
        stop_stack(scratch)
        if up is not None:
            up.wait()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
