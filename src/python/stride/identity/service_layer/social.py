"""Sign-in with Google, Apple or Facebook (OpenID Connect ID tokens)."""

from __future__ import annotations

import uuid

from stride.identity.adapters.access_tokens import AccessTokenIssuer
from stride.identity.adapters.oidc import ExternalIdentity, OidcVerifier
from stride.identity.adapters.passwords import unguessable_password_hash
from stride.identity.domain.model import DEFAULT_TIME_ZONE, User
from stride.identity.domain.throttling import address_key
from stride.identity.service_layer import commands
from stride.identity.service_layer.handlers import (
    IssuedCredentials,
    announce_registration,
    open_session,
)
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import AlreadyExists, FailedPrecondition


async def sign_in_with_provider(
    command: commands.SignInWithProvider,
    uow: IdentityUnitOfWork,
    issuer: AccessTokenIssuer,
    verifier: OidcVerifier,
    clock: Clock = utcnow,
) -> IssuedCredentials:
    identity = await verifier.verify(command.provider, command.id_token, command.nonce)
    # Whoever holds a provider account with someone else's unverified address must get
    # neither an account nor a session with it (Google, Apple and Facebook all allow that).
    if not identity.email_verified:
        raise FailedPrecondition("PROVIDER_EMAIL_UNVERIFIED", "social.email_unverified")
    async with uow:
        user = await uow.users.by_external_identity(identity.provider, identity.subject)
        if user is None:
            user = await _link_or_create(uow, identity, command.language_code, clock)
            await uow.commit()
    keys = [
        f"account:{identity.provider}:{identity.subject}",
        address_key(command.sign_in.client_address),
    ]
    return await open_session(uow, issuer, user, command.sign_in, keys, clock)


async def _link_or_create(
    uow: IdentityUnitOfWork, identity: ExternalIdentity, language_code: str, clock: Clock
) -> User:
    """Links by email only when our account holder proved the address too (the provider
    vouched for it); otherwise whoever controls the provider account could take the account."""
    if identity.email is None:
        raise FailedPrecondition("PROVIDER_EMAIL_MISSING", "social.email_missing")
    now = clock()
    found = await uow.users.get_with_password_hash(identity.email)
    if found is not None:
        existing = found[0]
        if not existing.email_verified:
            raise FailedPrecondition("ACCOUNT_EMAIL_UNVERIFIED", "social.account_unverified")
        await uow.users.link_external_identity(
            identity.provider, identity.subject, existing.id, now
        )
        return existing
    user = User(
        id=uuid.uuid4(),
        email=identity.email,
        display_name=identity.name.strip()[:80] or identity.email.split("@")[0],
        language_code=language_code,
        time_zone=DEFAULT_TIME_ZONE,
        email_verified=True,  # The provider vouched for it (checked above).
        created_at=now,
    )
    if not await uow.users.add(user, await unguessable_password_hash()):
        # A sign-up took the address since the lookup: link to it as above, next time.
        raise AlreadyExists("EMAIL_TAKEN", "user.email_taken")
    await uow.users.link_external_identity(identity.provider, identity.subject, user.id, now)
    await announce_registration(uow, user, now)
    return user
