"""Moving an account to another email address, proven by a link sent to the new one."""

from __future__ import annotations

from datetime import timedelta

from stride.identity.adapters.opaque_tokens import hash_opaque_token, new_opaque_token
from stride.identity.domain.model import User, normalize_email, validate_email
from stride.identity.events.v1 import events_pb2
from stride.identity.service_layer import commands, throttle
from stride.identity.service_layer.common import existing_user
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import AlreadyExists, FailedPrecondition
from stride.platform.events.secrets import seal_secret

EMAIL_CHANGE_REQUESTED = "identity.user.email_change_requested.v1"
EMAIL_CHANGED = "identity.user.email_changed.v1"
EMAIL_CHANGE_TTL = timedelta(hours=24)


async def request_email_change(
    command: commands.RequestEmailChange, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> None:
    require_self_or_role(str(command.user_id))
    new_email = validate_email(normalize_email(command.new_email), "new_email")
    async with uow:
        user = await existing_user(uow, command.user_id)
    await throttle.check_password(uow, user, command.password, command.client_address, clock)
    now = clock()
    async with uow:
        if await uow.users.get_with_password_hash(new_email) is not None:
            raise AlreadyExists("EMAIL_TAKEN", "user.email_taken")
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
    now = clock()
    async with uow:
        change = await uow.users.use_email_change(hash_opaque_token(command.token), now)
        if change is None:
            raise FailedPrecondition("EMAIL_CHANGE_TOKEN_INVALID", "email.change_invalid")
        user_id, new_email = change
        before = await existing_user(uow, user_id)
        await uow.users.change_email(user_id, new_email, now)
        uow.publish(
            EMAIL_CHANGED,
            subject=before.resource_name,
            payload=events_pb2.UserEmailChanged(
                user=before.resource_name,
                previous_email=before.email,
                email=new_email,
                language_code=before.language_code,
            ),
        )
        after = await existing_user(uow, user_id)
        await uow.commit()
    return after
