"""Identity's tables. Schema changes go through the Alembic versions beside this file."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

from stride.identity.domain.model import FIRST_PROFILE_REVISION


class UserRecord(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(primary_key=True)
    # Stored normalized (lower case); the unique index is what settles concurrent sign-ups.
    email: str = Field(sa_column=Column(String(254), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(256), nullable=False))
    display_name: str = Field(sa_column=Column(String(80), nullable=False))
    language_code: str = Field(sa_column=Column(String(8), nullable=False))
    time_zone: str = Field(sa_column=Column(String(64), nullable=False))
    email_verified: bool = Field(default=False, nullable=False)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    phone_number: str = Field(default="", sa_column=Column(String(16), nullable=False))
    # Raised by every profile change; events carry it (migration identity_0006).
    profile_revision: int = Field(
        default=FIRST_PROFILE_REVISION, sa_column=Column(BigInteger, nullable=False)
    )


class RoleGrantRecord(SQLModel, table=True):
    __tablename__ = "role_grants"

    user_id: uuid.UUID = Field(primary_key=True, foreign_key="users.id")
    role: str = Field(primary_key=True, max_length=16)
    studio: str = Field(primary_key=True, max_length=72)  # Empty: every studio.
    granted_by: uuid.UUID
    granted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EmailVerificationRecord(SQLModel, table=True):
    __tablename__ = "email_verifications"

    token_hash: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    email: str = Field(sa_column=Column(String(254), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SessionRecord(SQLModel, table=True):
    __tablename__ = "sessions"
    __table_args__ = (Index("sessions_by_user", "user_id", "created_at"),)

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    studio: str | None = Field(default=None, max_length=72)
    user_agent: str = Field(sa_column=Column(String(256), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_used_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoke_reason: str | None = Field(default=None, max_length=32)


class RefreshTokenRecord(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    # SHA-256 of a 256-bit random token: unguessable, so a fast hash is the right one.
    token_hash: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    session_id: uuid.UUID = Field(foreign_key="sessions.id", index=True)
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SigningKeyRecord(SQLModel, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=32)
    algorithm: str = Field(max_length=16)
    public_jwk: str = Field(sa_column=Column(Text, nullable=False))
    # PKCS#8 private key sealed with AES-256-GCM under data key `data_key_id`.
    private_key_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    data_key_id: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    activates_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SignInFailureRecord(SQLModel, table=True):
    __tablename__ = "sign_in_failures"
    # Counts a quiet hour forgot are pruned by it (migration identity_0007).
    __table_args__ = (Index("sign_in_failures_by_last_failure", "last_failure_at"),)

    key: str = Field(sa_column=Column(String(300), primary_key=True))
    failures: int = Field(sa_column=Column(Integer, nullable=False))
    last_failure_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class SpentSignInNonceRecord(SQLModel, table=True):
    __tablename__ = "spent_sign_in_nonces"

    # SHA-256 of a nonce that opened a session; kept until the nonce expires, then pruned.
    nonce_hash: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


class PasswordResetRecord(SQLModel, table=True):
    __tablename__ = "password_resets"

    token_hash: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class TotpFactorRecord(SQLModel, table=True):
    __tablename__ = "totp_factors"

    user_id: uuid.UUID = Field(primary_key=True, foreign_key="users.id")
    # The base32 secret sealed with AES-256-GCM under data key `data_key_id`.
    secret_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    data_key_id: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # The last 30-second step a code was accepted for: a code is never accepted twice.
    last_used_step: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class RecoveryCodeRecord(SQLModel, table=True):
    __tablename__ = "recovery_codes"

    user_id: uuid.UUID = Field(primary_key=True, foreign_key="users.id")
    code_hash: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class ExternalIdentityRecord(SQLModel, table=True):
    __tablename__ = "external_identities"

    provider: str = Field(primary_key=True, max_length=16)
    subject: str = Field(primary_key=True, max_length=255)  # The provider's `sub`.
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    linked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EmailChangeRecord(SQLModel, table=True):
    __tablename__ = "email_changes"

    token_hash: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    new_email: str = Field(sa_column=Column(String(254), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class EmailChangeRevertRecord(SQLModel, table=True):
    """The "this wasn't me" link sent to an account's previous address (identity_0008)."""

    __tablename__ = "email_change_reverts"

    token_hash: bytes = Field(sa_column=Column(LargeBinary(32), primary_key=True))
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    previous_email: str = Field(sa_column=Column(String(254), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
