"""Check-in codes: what a member's app shows as a QR code and a kiosk scans.

A code names the booking and the minute it was issued, signed with HMAC-SHA256. It is valid in
that minute and the next, so a screenshot from yesterday (or from an hour ago) is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from stride.platform.crypto.signed_tokens import sign, signed_body
from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument
from stride.scheduling.domain.model import ClassSession

STEP_SECONDS = 60
CHECK_IN_OPENS_BEFORE = timedelta(hours=1)
_BODY_BYTES = 16 + 8  # booking uuid, step


def _step(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def issue_code(key: bytes, booking_id: uuid.UUID, now: datetime) -> tuple[str, datetime]:
    """The code for `booking_id` now, and when it stops being accepted."""
    step = _step(now)
    code = sign(key, booking_id.bytes + step.to_bytes(8, "big"))
    return code, datetime.fromtimestamp((step + 2) * STEP_SECONDS, UTC)


def read_code(key: bytes, code: str, now: datetime) -> uuid.UUID:
    """The booking a genuine, current code names."""
    body = signed_body(key, code, _BODY_BYTES)
    if body is None:
        raise InvalidArgument([FieldViolation("token", "check_in.invalid_code")])
    if _step(now) - int.from_bytes(body[16:], "big") not in (0, 1):
        raise FailedPrecondition("CHECK_IN_CODE_EXPIRED", "check_in.code_expired")
    return uuid.UUID(bytes=body[:16])


def check_in_open(session: ClassSession, now: datetime) -> bool:
    return session.start - CHECK_IN_OPENS_BEFORE <= now <= session.end
