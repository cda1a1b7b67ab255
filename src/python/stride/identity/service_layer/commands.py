"""What callers ask Identity to do, independent of the transport that carried the request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class SignUp:
    email: str
    password: str
    display_name: str
    language_code: str
    time_zone: str


@dataclass(frozen=True)
class GetUser:
    user_id: uuid.UUID
