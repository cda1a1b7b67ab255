"""What Identity's use cases share: the clock, loading a user, ending a session, asking for a
password-reset link."""

from __future__ import annotations

import uuid
from datetime import datetime

from stride.identity.domain.model import User
from stride.identity.domain.sessions import Session
from stride.identity.events.v1 import events_pb2
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.errors import NotFound

SESSION_REVOKED = "identity.session.revoked.v1"
PASSWORD_RESET_ASKED = "identity.password_reset.asked.v1"  # noqa: S105 - event type.
# The subject of requests, which name no account.
PASSWORD_RESETS = "password_resets"  # noqa: S105 - an event subject.


async def existing_user(uow: IdentityUnitOfWork, user_id: uuid.UUID) -> User:
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("USER_NOT_FOUND", "user.not_found")
    return user


async def revoke_session_of(
    uow: IdentityUnitOfWork, session: Session, now: datetime, reason: str
) -> Session:
    if session.revoked_at is not None:
        return session
    revoked = session.revoke(now, reason)
    await uow.sessions.save(revoked)
    uow.publish(
        SESSION_REVOKED,
        subject=revoked.resource_name,
        payload=events_pb2.SessionRevoked(session=revoked.resource_name, reason=reason),
    )
    return revoked


def ask_password_reset(uow: IdentityUnitOfWork, email: str) -> None:
    """Records that a reset link is wanted for `email` (`password_reset.asked`); Identity makes
    the link from the event, for an address with an account only (`issue_password_reset`)."""
    uow.publish(
        PASSWORD_RESET_ASKED,
        subject=PASSWORD_RESETS,
        payload=events_pb2.PasswordResetAsked(email=email),
    )
