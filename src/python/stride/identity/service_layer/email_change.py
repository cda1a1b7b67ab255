"""Moving an account to another email address, proven by a link sent to the new one, and
taking it back with a link sent to the old one."""

from __future__ import annotations

from datetime import timedelta

from stride.identity.adapters.opaque_tokens import hash_opaque_token, new_opaque_token
from stride.identity.domain.model import User, normalize_email, validate_email
from stride.identity.domain.sessions import REVOKED_BY_EMAIL_CHANGE_REVERT
from stride.identity.events.v1 import events_pb2
from stride.identity.service_layer import commands, throttle
from stride.identity.service_layer.common import existing_user, revoke_session_of
from stride.identity.service_layer.handlers import announce_email_reuse
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition
from stride.platform.events.secrets import seal_secret

EMAIL_CHANGE_REQUESTED = "identity.user.email_change_requested.v1"
EMAIL_CHANGED = "identity.user.email_changed.v1"
EMAIL_CHANGE_REVERTED = "identity.user.email_change_reverted.v1"
EMAIL_CHANGE_TTL = timedelta(hours=24)
# How long the previous address can take the account back: long enough to notice an email
# among a week's mail.
EMAIL_CHANGE_REVERT_TTL = timedelta(days=7)


async def request_email_change(
    command: commands.RequestEmailChange, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> None:
    """Emails the new address a confirming link; an address with an account answers alike, so
    the request reveals nothing about who has one."""
    require_self_or_role(str(command.user_id))
    new_email = validate_email(normalize_email(command.new_email), "new_email")
    async with uow:
        user = await existing_user(uow, command.user_id)
    await throttle.check_password(uow, user, command.password, command.client_address, clock)
    now = clock()
    async with uow:
        taken = await uow.users.get_with_password_hash(new_email)
        if taken is not None:
            # The caller gets the answer a free address gets; the owner is told instead.
            if taken[0].id != user.id:
                attempt = events_pb2.UserEmailReuseAttempted.ATTEMPT_EMAIL_CHANGE
                announce_email_reuse(uow, taken[0], attempt)
            await uow.commit()
            return
        token, token_hash = new_opaque_token()
        expires_at = now + EMAIL_CHANGE_TTL
        await uow.users.add_email_change(token_hash, user.id, new_email, expires_at)
        requested = events_pb2.UserEmailChangeRequested(
            user=user.resource_name,
            new_email=new_email,
            language_code=user.language_code,
            sealed_token=seal_secret(
                uow.event_secrets,
                token,
                event_type=EMAIL_CHANGE_REQUESTED,
                user=user.resource_name,
                recipient=new_email,
            ),
        )
        requested.expire_time.FromDatetime(expires_at)
        uow.publish(EMAIL_CHANGE_REQUESTED, subject=user.resource_name, payload=requested)
        await uow.commit()


async def confirm_email_change(
    command: commands.ConfirmEmailChange, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> User:
    """Moves the account, and tells the previous address with a "this wasn't me" link (sealed
    for Notifications) that takes it back."""
    now = clock()
    async with uow:
        change = await uow.users.use_email_change(hash_opaque_token(command.token), now)
        if change is None:
            raise FailedPrecondition("EMAIL_CHANGE_TOKEN_INVALID", "email.change_invalid")
        user_id, new_email = change
        before = await existing_user(uow, user_id)
        await uow.users.change_email(user_id, new_email, now)
        revert_token, revert_token_hash = new_opaque_token()
        revert_expires_at = now + EMAIL_CHANGE_REVERT_TTL
        await uow.users.add_email_change_revert(
            revert_token_hash, user_id, before.email, revert_expires_at
        )
        changed = events_pb2.UserEmailChanged(
            user=before.resource_name,
            previous_email=before.email,
            email=new_email,
            language_code=before.language_code,
            sealed_revert_token=seal_secret(
                uow.event_secrets,
                revert_token,
                event_type=EMAIL_CHANGED,
                user=before.resource_name,
                recipient=before.email,
            ),
        )
        changed.revert_expire_time.FromDatetime(revert_expires_at)
        uow.publish(EMAIL_CHANGED, subject=before.resource_name, payload=changed)
        after = await existing_user(uow, user_id)
        await uow.commit()
    return after


def _invalid_revert_link() -> FailedPrecondition:
    return FailedPrecondition("EMAIL_REVERT_TOKEN_INVALID", "email.revert_invalid")


async def revert_link_user(token: str, uow: IdentityUnitOfWork, clock: Clock = utcnow) -> User:
    """Whose "this wasn't me" link this is, while it is still usable (its page greets them)."""
    async with uow:
        user_id = await uow.users.email_change_revert_user(hash_opaque_token(token), clock())
        if user_id is None:
            raise _invalid_revert_link()
        return await existing_user(uow, user_id)


async def revert_email_change(
    command: commands.RevertEmailChange, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> None:
    """The previous address's owner says the move was not theirs: the account goes back to
    that address, every session ends (whoever moved it is signed out) and pending changes are
    cancelled. The link works once; a password reset to the restored address is what locks
    out someone who knows the password."""
    now = clock()
    async with uow:
        reverted = await uow.users.use_email_change_revert(hash_opaque_token(command.token), now)
        if reverted is None:
            raise _invalid_revert_link()
        user_id, previous_email = reverted
        before = await existing_user(uow, user_id)
        await uow.users.change_email(user_id, previous_email, now)
        await uow.users.cancel_email_changes(user_id, now)
        for session in await uow.sessions.active_for_user(user_id, now):
            await revoke_session_of(uow, session, now, REVOKED_BY_EMAIL_CHANGE_REVERT)
        uow.publish(
            EMAIL_CHANGE_REVERTED,
            subject=before.resource_name,
            payload=events_pb2.UserEmailChangeReverted(
                user=before.resource_name,
                email=previous_email,
                reverted_email=before.email,
                language_code=before.language_code,
            ),
        )
        await uow.commit()
