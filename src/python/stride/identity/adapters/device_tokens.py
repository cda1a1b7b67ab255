"""Device tokens (the OWASP "device cookie"): proof, handed to the app after a successful
sign-in, that this device signed in to this account. Signed with a key derived from the active
data key, not stored: a token is the user, a device id and an expiry, and a rotation of the
data key retires every token (a device then signs in as one without, and gets a new one)."""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from stride.platform.crypto.sealing import DataKeyring
from stride.platform.crypto.signed_tokens import sign, signed_body

KEY_PURPOSE = "identity:device-tokens"
_TOKEN_PURPOSE = b"trusted-device"
_BODY = struct.Struct(">16s16sq")  # User id, device id, expiry (Unix seconds).


@dataclass(frozen=True)
class TrustedDevice:
    user_id: uuid.UUID
    device_id: uuid.UUID


def issue_device_token(data_keys: DataKeyring, device: TrustedDevice, expires_at: datetime) -> str:
    body = _BODY.pack(device.user_id.bytes, device.device_id.bytes, int(expires_at.timestamp()))
    return sign(data_keys.derive_key(KEY_PURPOSE), body, _TOKEN_PURPOSE)


def trusted_device(data_keys: DataKeyring, token: str, now: datetime) -> TrustedDevice | None:
    """The device a token names, while it is unexpired; None for anything else."""
    body = signed_body(data_keys.derive_key(KEY_PURPOSE), token, _BODY.size, _TOKEN_PURPOSE)
    if body is None:
        return None
    user_id, device_id, expires = _BODY.unpack(body)
    if datetime.fromtimestamp(expires, UTC) <= now:
        return None
    return TrustedDevice(uuid.UUID(bytes=user_id), uuid.UUID(bytes=device_id))
