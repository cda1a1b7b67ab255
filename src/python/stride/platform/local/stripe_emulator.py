"""localstripe, the stateful Stripe emulator from PyPI, on loopback only and in memory:
`python -m stride.platform.local.stripe_emulator --port N`.

Its own launcher binds every interface and reloads the last run's data from disk, and its store
pickles itself whole to one fixed file (/tmp/localstripe.pickle) on every write: shared by every
emulator on the machine (parallel test processes) and quadratic in the number of objects (the
renewal benchmark). We keep its application and its Stripe behaviour unchanged and only keep
the store in memory. The official `stripe` library talks to it through `api_base`.
"""

from __future__ import annotations

import argparse
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from urllib.error import HTTPError, URLError

from aiohttp import web
from localstripe import resources
from localstripe.server import app

from stride.platform.local.ports import free_port
from stride.platform.local.process import ManagedProcess


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="stripe-emulator")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    resources.Store.dump_to_disk = _keep_in_memory
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


def _keep_in_memory(store: object) -> None:
    """Replaces the store's save-to-disk: this emulator's data lives as long as it does."""


class LocalStripe:
    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self._process = ManagedProcess(
            "localstripe",
            [
                sys.executable,
                "-m",
                "stride.platform.local.stripe_emulator",
                "--port",
                str(self.port),
            ],
            log_dir / "localstripe.log",
        )

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self._process.start()
        self._process.wait_until(self._answers, timeout)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(  # noqa: S310 - our own loopback address.
                f"{self.api_base}/v1/customers", timeout=1
            ):
                return True
        except HTTPError:
            return True  # 401 without a key: it is up.
        except (URLError, OSError):
            return False

    def stop(self) -> None:
        self._process.stop()

    def __enter__(self) -> LocalStripe:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


if __name__ == "__main__":
    main()
