"""Identity's use cases."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from stride.identity.adapters.passwords import hash_password
from stride.identity.domain.model import User, validate_new_account
from stride.identity.events.v1 import events_pb2
from stride.identity.service_layer.commands import GetUser, SignUp
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.errors import NotFound

USER_REGISTERED = "identity.user.registered.v1"


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def sign_up(
    command: SignUp, uow: IdentityUnitOfWork, clock: Callable[[], datetime] = _utcnow
) -> User:
    """Creates the account and announces it. Runs inside the caller's open unit of work, which
    commits the account, the event and the idempotency record together."""
    account = validate_new_account(
        email=command.email,
        password=command.password,
        display_name=command.display_name,
        language_code=command.language_code,
        time_zone=command.time_zone,
    )
    password_hash = await hash_password(account.password)
    user = User(
        id=uuid.uuid4(),
        email=account.email,
        display_name=account.display_name,
        language_code=account.language_code,
        time_zone=account.time_zone,
        email_verified=False,
        created_at=clock(),
    )
    await uow.users.add(user, password_hash)
    uow.publish(
        USER_REGISTERED,
        subject=user.resource_name,
        payload=events_pb2.UserRegistered(
            user=user.resource_name,
            email=user.email,
            display_name=user.display_name,
            language_code=user.language_code,
        ),
    )
    return user


async def get_user(query: GetUser, uow: IdentityUnitOfWork) -> User:
    """Members read their own account; admins read any."""
    require_self_or_role(str(query.user_id), "admin")
    async with uow:
        user = await uow.users.get(query.user_id)
    if user is None:
        raise NotFound("USER_NOT_FOUND", "user.not_found")
    return user
