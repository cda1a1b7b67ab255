"""What members ask of Notifications, as commands to its use cases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class SendPhoneCode:
    """Text a one-time code to the phone number in the member's preferences."""

    user_id: uuid.UUID


@dataclass(frozen=True)
class VerifyPhoneNumber:
    """The code the member received: proves the number theirs."""

    user_id: uuid.UUID
    code: str
