"""Identity's use cases."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from stride.events.v1.sealed_secret_pb2 import SealedSecret
from stride.identity.adapters.access_tokens import AccessTokenIssuer
from stride.identity.adapters.device_tokens import (
    TrustedDevice,
    issue_device_token,
    trusted_device,
)
from stride.identity.adapters.opaque_tokens import hash_opaque_token, new_opaque_token
from stride.identity.adapters.passwords import hash_password, verify_password_or_decoy
from stride.identity.adapters.sign_in_nonces import IssuedNonce
from stride.identity.domain.model import (
    User,
    normalize_email,
    validate_new_account,
    validate_profile_update,
    validate_role_grant,
)
from stride.identity.domain.sessions import (
    EMAIL_VERIFICATION_TTL,
    REVOKED_BY_REUSE,
    REVOKED_BY_SIGN_OUT,
    REVOKED_BY_USER,
    RefreshToken,
    RefreshTokenReused,
    Session,
    check_refresh,
    new_session,
)
from stride.identity.domain.throttling import (
    TRUSTED_DEVICE_TTL,
    account_key,
    address_key,
    device_key,
)
from stride.identity.events.v1 import events_pb2
from stride.identity.service_layer import commands, mfa, throttle
from stride.identity.service_layer.common import (
    ask_password_reset,
    existing_user,
    revoke_session_of,
)
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.auth import current_principal, require_role, require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import (
    FailedPrecondition,
    NotFound,
    Unauthenticated,
)
from stride.platform.events.secrets import seal_secret

USER_REGISTERED = "identity.user.registered.v1"
USER_PROFILE_CHANGED = "identity.user.profile_changed.v1"
USER_EMAIL_VERIFIED = "identity.user.email_verified.v1"
USER_EMAIL_VERIFICATION_REQUESTED = "identity.user.email_verification_requested.v1"
USER_EMAIL_REUSE_ATTEMPTED = "identity.user.email_reuse_attempted.v1"
# Verification links an account may be sent within the window, sign-up included.
VERIFICATION_LINKS_PER_WINDOW = 3
VERIFICATION_RESEND_WINDOW = timedelta(hours=1)
ROLE_GRANTED = "identity.role.granted.v1"
ROLE_REVOKED = "identity.role.revoked.v1"


@dataclass(frozen=True)
class IssuedCredentials:
    user: User
    session: Session
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    device_token: str = ""  # Only a sign-in hands one out.


async def sign_up(command: commands.SignUp, uow: IdentityUnitOfWork, clock: Clock = utcnow) -> User:
    """Creates the account and announces it with a verification token for the welcome email.
    Runs inside the caller's open unit of work, which commits the account, the event and the
    idempotency record together.

    An address that has an account gets the answer a free one gets, after the same work (the
    password is hashed either way), so sign-up reveals nothing about who has an account: a
    verified owner is told by email instead. An account never verified gets a password-reset
    link: whoever opens it chooses the password, and a completed reset proves the address — so
    whoever signed up first with someone else's address loses the account to its owner. The
    link never carries this sign-up's password: the caller may not own the address either,
    and a member who signed up and has not yet opened the welcome email would otherwise be
    one click from a stranger's password."""
    account = validate_new_account(
        email=command.email,
        password=command.password,
        display_name=command.display_name,
        language_code=command.language_code,
        time_zone=command.time_zone,
        phone_number=command.phone_number,
    )
    password_hash = await hash_password(account.password)
    now = clock()
    user = User(
        id=uuid.uuid4(),
        email=account.email,
        display_name=account.display_name,
        language_code=account.language_code,
        time_zone=account.time_zone,
        email_verified=False,
        created_at=now,
        phone_number=account.phone_number,
    )
    found = await uow.users.get_with_password_hash(account.email)
    if found is None:
        if await uow.users.add(user, password_hash):
            await announce_registration(uow, user, now)
            return user
        # A concurrent sign-up took the address between the lookup and the insert.
        found = await uow.users.get_with_password_hash(account.email)
    if found is not None and found[0].email_verified:
        announce_email_reuse(uow, found[0], events_pb2.UserEmailReuseAttempted.ATTEMPT_SIGN_UP)
    elif found is not None:
        ask_password_reset(uow, found[0].email)
    return user


def announce_email_reuse(
    uow: IdentityUnitOfWork,
    owner: User,
    attempt: events_pb2.UserEmailReuseAttempted.Attempt.ValueType,
) -> None:
    """Tells the owner of an address, by email, that someone tried to use it: what the caller
    was not told."""
    uow.publish(
        USER_EMAIL_REUSE_ATTEMPTED,
        subject=owner.resource_name,
        payload=events_pb2.UserEmailReuseAttempted(
            user=owner.resource_name,
            email=owner.email,
            language_code=owner.language_code,
            attempt=attempt,
        ),
    )


async def announce_registration(uow: IdentityUnitOfWork, user: User, now: datetime) -> None:
    """`user.registered`, with a verification token (sealed for Notifications) for the
    welcome email unless the address is already verified (by a sign-in provider)."""
    registered = events_pb2.UserRegistered(
        user=user.resource_name,
        email=user.email,
        display_name=user.display_name,
        language_code=user.language_code,
        time_zone=user.time_zone,
        profile_revision=user.profile_revision,
    )
    if not user.email_verified:
        sealed, expires_at = await _verification_link(uow, user, now, USER_REGISTERED)
        registered.sealed_email_verification_token.CopyFrom(sealed)
        registered.email_verification_expire_time.FromDatetime(expires_at)
    uow.publish(USER_REGISTERED, subject=user.resource_name, payload=registered)


async def send_verification_link(uow: IdentityUnitOfWork, user: User, now: datetime) -> None:
    """A new verification link for an account never verified
    (`user.email_verification_requested`). None past a few links an hour, so the address's
    inbox cannot be flooded through us; a password reset still reaches it."""
    issued_since = now - VERIFICATION_RESEND_WINDOW + EMAIL_VERIFICATION_TTL
    issued = await uow.users.count_email_verifications(user.id, issued_since)
    if issued >= VERIFICATION_LINKS_PER_WINDOW:
        return
    sealed, expires_at = await _verification_link(uow, user, now, USER_EMAIL_VERIFICATION_REQUESTED)
    requested = events_pb2.UserEmailVerificationRequested(
        user=user.resource_name,
        email=user.email,
        display_name=user.display_name,
        language_code=user.language_code,
        sealed_token=sealed,
    )
    requested.expire_time.FromDatetime(expires_at)
    uow.publish(USER_EMAIL_VERIFICATION_REQUESTED, subject=user.resource_name, payload=requested)


async def _verification_link(
    uow: IdentityUnitOfWork,
    user: User,
    now: datetime,
    event_type: str,
) -> tuple[SealedSecret, datetime]:
    """Stores a new link and returns its token sealed for `event_type`'s email, and when it
    expires."""
    token, token_hash = new_opaque_token()
    expires_at = now + EMAIL_VERIFICATION_TTL
    await uow.users.add_email_verification(token_hash, user, expires_at)
    sealed = seal_secret(
        uow.event_secrets,
        token,
        event_type=event_type,
        user=user.resource_name,
        recipient=user.email,
    )
    return sealed, expires_at


async def resend_email_verification(
    command: commands.ResendEmailVerification, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> None:
    """A new verification link for an account never verified (a few an hour at most); silent
    for any other address (unknown, or verified), so the caller learns nothing about who has
    an account."""
    now = clock()
    async with uow:
        found = await uow.users.get_with_password_hash(normalize_email(command.email))
        if found is None or found[0].email_verified:
            return
        await send_verification_link(uow, found[0], now)
        await uow.commit()


async def get_user(query: commands.GetUser, uow: IdentityUnitOfWork) -> User:
    """Members read their own account; admins read any."""
    require_self_or_role(str(query.user_id), "admin")
    async with uow:
        return await existing_user(uow, query.user_id)


async def update_profile(
    command: commands.UpdateProfile, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> User:
    """A new language or time zone is announced (`user.profile_changed`, with the profile's
    revision), so the services that speak to the user or keep their clock follow."""
    require_self_or_role(str(command.user_id), "admin")
    async with uow:
        before = await existing_user(uow, command.user_id)
        user = await uow.users.save_profile(
            validate_profile_update(before, command.changes), clock()
        )
        if user.locale_differs(before):
            _announce_profile(uow, user)
        await uow.commit()
    return user


async def announce_profiles(
    command: commands.AnnounceProfiles, new_uow: Callable[[], IdentityUnitOfWork]
) -> int:
    """Announces every account's profile as it is now (`user.profile_changed` at its current
    revision, which services keeping a copy apply): for a service that missed them — one
    that started keeping profiles after its users signed up, or a consumer down longer than
    the streams keep events (ADR 0009). A page of accounts per transaction; how many."""
    require_role("admin")
    announced, after = 0, None
    while True:
        async with new_uow() as uow:
            users = await uow.users.profiles_after(after, command.batch_size)
            for user in users:
                _announce_profile(uow, user)
            await uow.commit()
        announced += len(users)
        if len(users) < command.batch_size:
            return announced
        after = users[-1].id


def _announce_profile(uow: IdentityUnitOfWork, user: User) -> None:
    uow.publish(
        USER_PROFILE_CHANGED,
        subject=user.resource_name,
        payload=events_pb2.UserProfileChanged(
            user=user.resource_name,
            language_code=user.language_code,
            time_zone=user.time_zone,
            profile_revision=user.profile_revision,
        ),
    )


class LinkOutcome(enum.Enum):
    """What a verification link is, as its page tells whoever opened it."""

    OPEN = "open"  # Usable: confirmed with the account's password.
    ALREADY_VERIFIED = "already_verified"  # A link used before, or an address verified since.
    EXPIRED = "expired"
    INVALID = "invalid"  # No such link.


@dataclass(frozen=True)
class OpenedLink:
    outcome: LinkOutcome
    user: User | None  # Whose link it is, when it is one of ours.


async def look_at_verification_link(
    token: str, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> OpenedLink:
    """What the link is, for the page a browser shows; nothing changes (mail scanners open
    links, and verifying takes the password: `verify_email`)."""
    now = clock()
    async with uow:
        link = await uow.users.email_verification(hash_opaque_token(token))
        if link is None:
            return OpenedLink(LinkOutcome.INVALID, None)
        user = await existing_user(uow, link.user_id)
    if user.email_verified:
        return OpenedLink(LinkOutcome.ALREADY_VERIFIED, user)
    if link.usable(now):
        return OpenedLink(LinkOutcome.OPEN, user)
    if now >= link.expires_at:
        return OpenedLink(LinkOutcome.EXPIRED, user)
    return OpenedLink(LinkOutcome.INVALID, user)


async def verify_email(
    command: commands.VerifyEmail, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> User:
    """Verifies the address with an unused, unexpired link and the account's password: the
    link proves the address, the password that whoever opened it is who signed up. Without
    it, the owner of an address who opens the welcome email of an account a stranger opened
    with it would hand the stranger a verified account; the owner resets its password instead,
    which proves the address (`complete_password_reset`)."""
    token_hash = hash_opaque_token(command.token)
    async with uow:
        link = await uow.users.email_verification(token_hash)
        usable = link is not None and link.usable(clock())
        user = await existing_user(uow, link.user_id) if link is not None and usable else None
    if link is None or user is None:
        raise _invalid_verification_link()
    holder = command.holder
    await throttle.check_password(uow, user, holder.password, holder.client_address, clock)
    now = clock()
    async with uow:
        # Used up in the transaction that verifies: of two verifications at once, one does.
        if not await uow.users.use_email_verification(token_hash, now):
            raise _invalid_verification_link()
        user = await prove_address(uow, link.user_id, now, new_owner=False)
        await uow.commit()
    return user


def _invalid_verification_link() -> FailedPrecondition:
    return FailedPrecondition("VERIFICATION_TOKEN_INVALID", "email.verification_invalid")


async def confirm_email(user_id: uuid.UUID, uow: IdentityUnitOfWork, clock: Clock = utcnow) -> User:
    """Support staff (admins) confirm an address verified another way, e.g. at the desk."""
    require_role("admin")
    async with uow:
        user = await mark_email_verified(uow, user_id, clock())
        await uow.commit()
    return user


async def prove_address(
    uow: IdentityUnitOfWork, user_id: uuid.UUID, now: datetime, *, new_owner: bool
) -> User:
    """A link to the account's address was opened: the address is verified and the account's
    other verification links stop working. When that proof hands the account to the address's
    owner (`new_owner`: a completed reset), the phone number that came with it goes too: texts
    would reach whoever gave it."""
    await uow.users.use_email_verifications_of(user_id, now)
    user = await existing_user(uow, user_id)
    if new_owner and user.phone_number:
        await uow.users.save_profile(replace(user, phone_number=""), now)
    return await mark_email_verified(uow, user_id, now)


async def mark_email_verified(uow: IdentityUnitOfWork, user_id: uuid.UUID, now: datetime) -> User:
    user = await existing_user(uow, user_id)
    if user.email_verified:
        return user
    user = await uow.users.save_profile(replace(user, email_verified=True), now)
    uow.publish(
        USER_EMAIL_VERIFIED,
        subject=user.resource_name,
        payload=events_pb2.UserEmailVerified(user=user.resource_name, email=user.email),
    )
    return user


async def sign_in(
    command: commands.SignIn,
    uow: IdentityUnitOfWork,
    issuer: AccessTokenIssuer,
    clock: Clock = utcnow,
) -> IssuedCredentials:
    """Enumeration-safe: an unknown email costs the same hash and fails the same way as a wrong
    password, and both count towards the same per-account and per-address throttles — counted
    before the hash is checked. From the member's trusted device the attempt counts against
    that device instead of the account."""
    email = normalize_email(command.email)
    async with uow:
        found = await uow.users.get_with_password_hash(email)
    device = _trusted_device_of(uow, found[0] if found else None, command.device_token, clock())
    first_key = device_key(device.user_id, device.device_id) if device else account_key(email)
    keys = [first_key, address_key(command.client_address)]
    await throttle.count_attempt(uow, keys, clock)
    password_ok = await verify_password_or_decoy(found[1] if found else None, command.password)
    if found is None or not password_ok:
        raise Unauthenticated("INVALID_CREDENTIALS", "auth.invalid_credentials")
    user = found[0]
    if not user.email_verified:
        await throttle.forgive_attempt_alone(uow, keys)  # The password was right.
        raise FailedPrecondition("EMAIL_NOT_VERIFIED", "auth.email_not_verified")
    return await open_session(uow, issuer, user, command, keys, clock, device)


def _trusted_device_of(
    uow: IdentityUnitOfWork, user: User | None, device_token: str, now: datetime
) -> TrustedDevice | None:
    """The device the token proves, if it is this account's."""
    device = trusted_device(uow.data_keys, device_token, now) if device_token else None
    return device if device is not None and user is not None and device.user_id == user.id else None


async def open_session(
    uow: IdentityUnitOfWork,
    issuer: AccessTokenIssuer,
    user: User,
    command: commands.SignIn,
    attempt_keys: list[str],
    clock: Clock,
    device: TrustedDevice | None = None,
    nonce: IssuedNonce | None = None,
) -> IssuedCredentials:
    """After the first factor: the second one when enrolled, then a new session and a device
    token (for `device`, or a device new to us). The caller has counted this attempt against
    `attempt_keys` (`throttle.count_attempt`): a wrong second factor leaves it counted, a
    session forgives it. A provider sign-in's `nonce` is spent with the session: it opens one.
    """
    now = clock()
    factor = await mfa.active_factor(uow, user.id)
    if factor is not None:
        if not command.mfa_code:
            await throttle.undo_attempt(uow, attempt_keys)
            raise FailedPrecondition("MFA_REQUIRED", "mfa.required")
        if not await mfa.second_factor_passes(uow, user, factor, command.mfa_code, now):
            raise Unauthenticated("INVALID_MFA_CODE", "mfa.invalid_code")
    studio = command.studio or user.default_studio()
    async with uow:
        if nonce is not None and not await uow.sessions.spend_nonce(nonce):
            raise Unauthenticated("PROVIDER_NONCE_USED", "social.token_invalid")
        await throttle.forgive_attempt(uow, attempt_keys)
        session = new_session(user.id, studio, command.user_agent, now)
        await uow.sessions.add(session)
        refresh_token = await _new_refresh_token(uow, session, now)
        access_token, expires_at = await issuer.issue(user, session, now)
        await uow.commit()
    device_token = issue_device_token(
        uow.data_keys, device or TrustedDevice(user.id, uuid.uuid4()), now + TRUSTED_DEVICE_TTL
    )
    return IssuedCredentials(user, session, access_token, expires_at, refresh_token, device_token)


async def refresh_session(
    command: commands.RefreshSession,
    uow: IdentityUnitOfWork,
    issuer: AccessTokenIssuer,
    clock: Clock = utcnow,
) -> IssuedCredentials:
    """Rotates the refresh token. A token presented twice means two parties hold it: the
    session is revoked for both, and the revocation commits even though the call fails."""
    now = clock()
    async with uow:
        token = await uow.sessions.refresh_token(hash_opaque_token(command.refresh_token))
        session = await uow.sessions.get(token.session_id, for_update=True) if token else None
        try:
            session = check_refresh(token, session, now)
        except RefreshTokenReused:
            assert session is not None  # noqa: S101 - check_refresh found the token's session.
            await revoke_session_of(uow, session, now, REVOKED_BY_REUSE)
            await uow.commit()
            raise
        assert token is not None  # noqa: S101 - check_refresh passed.
        user = await existing_user(uow, session.user_id)
        await uow.sessions.mark_refresh_token_used(token.token_hash, now)
        session = replace(session, last_used_at=now)
        await uow.sessions.save(session)
        refresh_token = await _new_refresh_token(uow, session, now)
        access_token, expires_at = await issuer.issue(user, session, now)
        await uow.commit()
    return IssuedCredentials(user, session, access_token, expires_at, refresh_token)


async def sign_out(uow: IdentityUnitOfWork, clock: Clock = utcnow) -> None:
    principal = current_principal()
    if principal.session_id is None:
        raise Unauthenticated("TOKEN_INVALID")
    async with uow:
        session = await uow.sessions.get(uuid.UUID(principal.session_id), for_update=True)
        if session is not None:
            await revoke_session_of(uow, session, clock(), REVOKED_BY_SIGN_OUT)
            await uow.commit()


async def list_sessions(
    query: commands.ListSessions, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> list[Session]:
    require_self_or_role(str(query.user_id), "admin")
    async with uow:
        return await uow.sessions.list_for_user(
            query.user_id,
            active_at=None if query.include_inactive else clock(),
            offset=query.offset,
            limit=query.limit,
        )


async def revoke_session(
    command: commands.RevokeSession, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> Session:
    require_self_or_role(str(command.user_id), "admin")
    async with uow:
        session = await uow.sessions.get(command.session_id, for_update=True)
        if session is None or session.user_id != command.user_id:
            raise NotFound("SESSION_NOT_FOUND", "session.not_found")
        session = await revoke_session_of(uow, session, clock(), REVOKED_BY_USER)
        await uow.commit()
    return session


async def grant_role(
    command: commands.ChangeRole, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> User:
    admin = require_role("admin")
    grant = validate_role_grant(command.role, command.studio)
    async with uow:
        user = await existing_user(uow, command.user_id)
        if await uow.users.grant(user.id, grant, uuid.UUID(admin.user_id), clock()):
            uow.publish(
                ROLE_GRANTED,
                subject=user.resource_name,
                payload=events_pb2.RoleGranted(
                    user=user.resource_name,
                    role=grant.role,
                    studio=grant.studio,
                    granted_by=f"users/{admin.user_id}",
                ),
            )
        user = await existing_user(uow, command.user_id)
        await uow.commit()
    return user


async def revoke_role(command: commands.ChangeRole, uow: IdentityUnitOfWork) -> User:
    admin = require_role("admin")
    grant = validate_role_grant(command.role, command.studio)
    async with uow:
        user = await existing_user(uow, command.user_id)
        if await uow.users.revoke(user.id, grant):
            uow.publish(
                ROLE_REVOKED,
                subject=user.resource_name,
                payload=events_pb2.RoleRevoked(
                    user=user.resource_name,
                    role=grant.role,
                    studio=grant.studio,
                    revoked_by=f"users/{admin.user_id}",
                ),
            )
        user = await existing_user(uow, command.user_id)
        await uow.commit()
    return user


async def _new_refresh_token(uow: IdentityUnitOfWork, session: Session, now: datetime) -> str:
    token, token_hash = new_opaque_token()
    await uow.sessions.add_refresh_token(RefreshToken(token_hash, session.id, now))
    return token
