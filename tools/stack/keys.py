"""The local stack's keys: one AES-256-GCM data key per service, and the event-secret key
Identity and Notifications share, kept in the data directory so a restart can still open what
the last run sealed. In a cluster they come from Secrets instead."""

from __future__ import annotations

import json
from pathlib import Path

from stride.platform.crypto.sealing import new_data_key_spec

ACTIVE_KEY_ID = "local1"


def load_or_create_data_keys(path: Path) -> tuple[str, str]:
    """(keys, active key id) — STRIDE_DATA_KEYS and STRIDE_DATA_KEY_ACTIVE for one service, or
    STRIDE_EVENT_SECRET_KEYS and STRIDE_EVENT_SECRET_KEY_ACTIVE for those sharing a file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        document = {"keys": new_data_key_spec(ACTIVE_KEY_ID), "active": ACTIVE_KEY_ID}
        path.write_text(json.dumps(document))
    document = json.loads(path.read_text())
    return str(document["keys"]), str(document["active"])
