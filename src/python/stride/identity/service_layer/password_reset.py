"""Password reset: request a single-use emailed token, complete it, end every session."""

from __future__ import annotations

from datetime import timedelta

from stride.events.v1.envelope_pb2 import Envelope
from stride.identity.adapters.opaque_tokens import hash_opaque_token, new_opaque_token
from stride.identity.adapters.passwords import hash_password
from stride.identity.domain.model import User, normalize_email, validate_new_password
from stride.identity.domain.sessions import REVOKED_BY_PASSWORD_RESET
from stride.identity.domain.throttling import account_key, devices_of
from stride.identity.events.v1 import events_pb2
from stride.identity.service_layer import commands
from stride.identity.service_layer.common import (
    ask_password_reset,
    existing_user,
    revoke_session_of,
)
from stride.identity.service_layer.handlers import prove_address
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition
from stride.platform.events.secrets import seal_secret

PASSWORD_RESET_REQUESTED = "identity.password_reset.requested.v1"  # noqa: S105 - event type.
RESET_TOKEN_TTL = timedelta(minutes=30)


def _invalid_link() -> FailedPrecondition:
    return FailedPrecondition("RESET_TOKEN_INVALID", "password_reset.invalid")


async def request_password_reset(
    command: commands.RequestPasswordReset, uow: IdentityUnitOfWork
) -> None:
    """Records the request (`password_reset.asked`) and nothing else, whoever the address
    belongs to: the answer does the same work, and takes the same time, for an address with
    an account as for one without, so it reveals nothing about who has one. The link is made
    afterwards, from the event (`issue_password_reset`)."""
    async with uow:
        ask_password_reset(uow, normalize_email(command.email))
        await uow.commit()


async def issue_password_reset(
    envelope: Envelope, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes Identity's own `password_reset.asked`, in the unit of work the consumer opened
    (and commits): for an address with an account, a single-use link whose token goes to
    Notifications sealed (`password_reset.requested`); for any other, nothing."""
    asked = events_pb2.PasswordResetAsked()
    envelope.data.Unpack(asked)
    found = await uow.users.get_with_password_hash(asked.email)
    if found is None:
        return
    user = found[0]
    token, token_hash = new_opaque_token()
    expires_at = clock() + RESET_TOKEN_TTL
    await uow.users.add_password_reset(token_hash, user.id, expires_at)
    requested = events_pb2.PasswordResetRequested(
        user=user.resource_name,
        email=user.email,
        language_code=user.language_code,
        sealed_token=seal_secret(
            uow.event_secrets,
            token,
            event_type=PASSWORD_RESET_REQUESTED,
            user=user.resource_name,
            recipient=user.email,
        ),
    )
    requested.expire_time.FromDatetime(expires_at)
    uow.publish(PASSWORD_RESET_REQUESTED, subject=user.resource_name, payload=requested)


async def reset_link_user(token: str, uow: IdentityUnitOfWork, clock: Clock = utcnow) -> User:
    """Whose reset link this is, while it is still usable (the link page greets them)."""
    async with uow:
        user_id = await uow.users.password_reset_user(hash_opaque_token(token), clock())
        if user_id is None:
            raise _invalid_link()
        return await existing_user(uow, user_id)


async def complete_password_reset(
    command: commands.CompletePasswordReset, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> None:
    """Sets the password, ends every session and cancels pending email changes; an address
    never verified is verified by it (the link proved it)."""
    now = clock()
    async with uow:
        user_id = await uow.users.password_reset_user(hash_opaque_token(command.token), now)
        if user_id is None:
            raise _invalid_link()
        user = await existing_user(uow, user_id)
    validate_new_password(command.new_password, user.email)
    password_hash = await hash_password(command.new_password)
    async with uow:
        # Used up inside the transaction that changes the password: two concurrent completions
        # cannot both succeed.
        if await uow.users.use_password_reset(hash_opaque_token(command.token), now) is None:
            raise _invalid_link()
        await uow.users.set_password_hash(user.id, password_hash, now)
        for session in await uow.sessions.active_for_user(user.id, now):
            await revoke_session_of(uow, session, now, REVOKED_BY_PASSWORD_RESET)
        # A move to another address asked for with the old password is not the owner's wish.
        await uow.users.cancel_email_changes(user.id, now)
        if not user.email_verified:
            # The link reached the address: its owner now holds an account someone else may
            # have opened with it.
            await prove_address(uow, user.id, now, new_owner=True)
        await uow.failures.clear(account_key(user.email))
        await uow.failures.clear_starting_with(devices_of(user.id))
        factor = await uow.mfa.factor(user.id)
        if factor is not None and factor.removed_by_password_reset(now):
            await uow.mfa.remove(user.id)  # Perhaps planted by whoever took the account.
        await uow.commit()
