"""localstripe, the stateful Stripe emulator from PyPI, on loopback only:
`python -m stride.platform.local.stripe_emulator --port N [--store FILE]`.

Its own launcher binds every interface and reloads the last run's data from a fixed file
(/tmp/localstripe.pickle), shared by every emulator on the machine (parallel test processes),
which its store rewrites whole on every change: quadratic in the number of objects (the
renewal benchmark). We keep its application and its Stripe behaviour unchanged and only keep
the store ourselves: in memory for tests, or, with `--store`, in a file of our own (under
`./pants up`'s data directory) that is loaded at start and rewritten, atomically, at most once
a second after a change and once more at shutdown — so customers, cards and payments survive
a restart like the rest of the local data. The official `stripe` library talks to it through
`api_base`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pickle
import sys
import urllib.request
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.error import HTTPError, URLError

from aiohttp import web
from localstripe import resources
from localstripe.server import app

from stride.platform.local.ports import free_port
from stride.platform.local.process import ManagedProcess

SAVE_EVERY_SECONDS = 1.0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="stripe-emulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", type=Path, help="keep the store in this file across runs")
    args = parser.parse_args(argv)
    if args.store is None:
        resources.Store.dump_to_disk = _keep_in_memory
    else:
        kept = KeptStore(args.store)
        kept.load()
        resources.Store.dump_to_disk = lambda _store: kept.changed()
        app.cleanup_ctx.append(kept.saving)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


def _keep_in_memory(store: object) -> None:
    """Replaces the store's save-to-disk: this emulator's data lives as long as it does."""


class KeptStore:
    """localstripe's store in a file of ours. Its objects change in place, and it reports
    every change by calling `dump_to_disk` (after each write request, and on each new
    object); we note the change and write the whole store a moment later, so a burst of
    requests costs one write."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._changed = False

    def load(self) -> None:
        if self._path.exists():
            with self._path.open("rb") as kept:
                objects = pickle.load(kept)  # noqa: S301 - our own file, in our data directory.
            dict.update(resources.store, objects)  # Not through the store: nothing changed.

    def changed(self) -> None:
        self._changed = True

    async def saving(self, _: web.Application) -> AsyncIterator[None]:
        """While the emulator serves: saves what changed, and once more when it stops."""
        task = asyncio.create_task(self._save_changes())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._save()

    async def _save_changes(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY_SECONDS)
            if self._changed:
                self._save()

    def _save(self) -> None:
        self._changed = False
        self._path.parent.mkdir(parents=True, exist_ok=True)
        written = self._path.with_suffix(".writing")
        with written.open("wb") as kept:
            pickle.dump(dict(resources.store), kept, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(written, self._path)  # A crash mid-write leaves the last whole store.


class LocalStripe:
    """The emulator as a process of ours; with `store`, its data outlives the process."""

    def __init__(self, log_dir: Path, port: int | None = None, store: Path | None = None) -> None:
        self.port = port or free_port()
        self._process = ManagedProcess(
            "localstripe",
            [
                sys.executable,
                "-m",
                "stride.platform.local.stripe_emulator",
                "--port",
                str(self.port),
                *(["--store", str(store)] if store else []),
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
