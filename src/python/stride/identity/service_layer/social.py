"""Sign-in with Google, Apple or Facebook (OpenID Connect ID tokens)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from stride.identity.adapters.access_tokens import AccessTokenIssuer
from stride.identity.adapters.oidc import ExternalIdentity, OidcVerifier
from stride.identity.adapters.passwords import unguessable_password_hash
from stride.identity.adapters.sign_in_nonces import issue_nonce, issued_nonce
from stride.identity.domain.model import DEFAULT_TIME_ZONE, User
from stride.identity.domain.throttling import account_key, address_key
from stride.identity.service_layer import commands, throttle
from stride.identity.service_layer.handlers import (
    IssuedCredentials,
    announce_registration,
    open_session,
)
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import AlreadyExists, FailedPrecondition, Unauthenticated

# Long enough for the provider's consent screens; a nonce also opens one session only.
SIGN_IN_NONCE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class SignInNonce:
    nonce: str
    expires_at: datetime


def issue_sign_in_nonce(uow: IdentityUnitOfWork, clock: Clock = utcnow) -> SignInNonce:
    """Signed, not stored: asking for nonces costs us no storage."""
    expires_at = clock() + SIGN_IN_NONCE_TTL
    return SignInNonce(issue_nonce(uow.data_keys, expires_at), expires_at)


async def sign_in_with_provider(
    command: commands.SignInWithProvider,
    uow: IdentityUnitOfWork,
    issuer: AccessTokenIssuer,
    verifier: OidcVerifier,
    clock: Clock = utcnow,
) -> IssuedCredentials:
    identity = await verifier.verify(command.provider, command.id_token, command.nonce)
    nonce = issued_nonce(uow.data_keys, command.nonce, clock())
    if nonce is None:
        raise Unauthenticated("PROVIDER_NONCE_INVALID", "social.token_invalid")
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
        account_key(f"{identity.provider}:{identity.subject}"),
        address_key(command.sign_in.client_address),
    ]
    # The provider vouched for the first factor; the second one is guessed like a password.
    await throttle.count_attempt(uow, keys, clock)
    return await open_session(uow, issuer, user, command.sign_in, keys, clock, nonce=nonce)


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
