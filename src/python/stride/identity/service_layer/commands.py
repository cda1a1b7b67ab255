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
    phone_number: str = ""


@dataclass(frozen=True)
class GetUser:
    user_id: uuid.UUID


@dataclass(frozen=True)
class UpdateProfile:
    user_id: uuid.UUID
    changes: dict[str, str]  # Field name → new value, for the fields in the update mask.


@dataclass(frozen=True)
class AnnounceProfiles:
    batch_size: int  # Accounts per transaction (and outbox rows it writes).


@dataclass(frozen=True)
class VerifyEmail:
    token: str
    holder: HolderProof  # Whoever opened the link is who signed up.


@dataclass(frozen=True)
class SignIn:
    email: str
    password: str
    studio: str | None
    client_address: str
    user_agent: str
    mfa_code: str = ""
    device_token: str = ""  # From this device's last sign-in to the account, if it kept one.


@dataclass(frozen=True)
class RefreshSession:
    refresh_token: str


@dataclass(frozen=True)
class ListSessions:
    user_id: uuid.UUID
    offset: int
    limit: int
    include_inactive: bool


@dataclass(frozen=True)
class RevokeSession:
    user_id: uuid.UUID
    session_id: uuid.UUID


@dataclass(frozen=True)
class ChangeRole:
    user_id: uuid.UUID
    role: str
    studio: str


@dataclass(frozen=True)
class RequestPasswordReset:
    email: str


@dataclass(frozen=True)
class CompletePasswordReset:
    token: str
    new_password: str


@dataclass(frozen=True)
class HolderProof:
    """How the account holder shows it is them before changing the second factor: the
    password (empty: a recent sign-in of the calling session is proof enough)."""

    password: str
    client_address: str  # Wrong passwords count against it, as at sign-in.


@dataclass(frozen=True)
class EnrollTotp:
    user_id: uuid.UUID
    proof: HolderProof


@dataclass(frozen=True)
class ConfirmTotp:
    user_id: uuid.UUID
    code: str
    proof: HolderProof


@dataclass(frozen=True)
class SignInWithProvider:
    provider: str
    id_token: str
    nonce: str
    sign_in: SignIn  # Studio, client, user agent and second factor, as for a password sign-in.
    language_code: str  # For an account created by this sign-in.


@dataclass(frozen=True)
class DisableTotp:
    user_id: uuid.UUID
    code: str
    proof: HolderProof  # Unused when an admin calls.


@dataclass(frozen=True)
class RequestEmailChange:
    user_id: uuid.UUID
    new_email: str
    password: str
    client_address: str  # Wrong passwords count against it, as at sign-in.


@dataclass(frozen=True)
class ConfirmEmailChange:
    token: str


@dataclass(frozen=True)
class ResendEmailVerification:
    email: str


@dataclass(frozen=True)
class RevertEmailChange:
    token: str
