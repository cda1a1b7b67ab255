"""The local stack's keys, kept in the data directory so a restart can still open what the last
run sealed: one AES-256-GCM data key per service, the event-secret key Identity and
Notifications share, and one Ed25519 service key per service, with which it proves itself to the
others' internal RPCs. In a cluster they come from Secrets instead."""

from __future__ import annotations

import json
from pathlib import Path

from stride.platform.crypto.sealing import new_data_key_spec
from stride.platform.service_credentials import new_service_key_spec

ACTIVE_KEY_ID = "local1"


def _private_file(path: Path, create: str) -> str:
    """The file's text, written first with `create` (readable by its owner only) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(create)
    return path.read_text()


def load_or_create_data_keys(path: Path) -> tuple[str, str]:
    """(keys, active key id) — STRIDE_DATA_KEYS and STRIDE_DATA_KEY_ACTIVE for one service, or
    STRIDE_EVENT_SECRET_KEYS and STRIDE_EVENT_SECRET_KEY_ACTIVE for those sharing a file."""
    fresh = {"keys": new_data_key_spec(ACTIVE_KEY_ID), "active": ACTIVE_KEY_ID}
    document = json.loads(_private_file(path, json.dumps(fresh)))
    return str(document["keys"]), str(document["active"])


def load_or_create_service_key(path: Path, service: str) -> str:
    """STRIDE_SERVICE_KEY for one service."""
    return _private_file(path, new_service_key_spec(f"{service}-local1")).strip()
