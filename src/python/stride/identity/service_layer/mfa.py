"""TOTP enrolment and the second factor at sign-in."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from stride.identity.adapters import totp
from stride.identity.adapters.opaque_tokens import hash_recovery_code, new_recovery_code
from stride.identity.domain.mfa import (
    RECOVERY_CODE_COUNT,
    TotpFactor,
    is_totp_code,
    normalize_recovery_code,
    recently_signed_in,
)
from stride.identity.domain.model import User
from stride.identity.domain.throttling import account_key, address_key
from stride.identity.service_layer import commands, throttle
from stride.identity.service_layer.common import existing_user
from stride.identity.service_layer.unit_of_work import IdentityUnitOfWork
from stride.platform.auth import current_principal, require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import FailedPrecondition, FieldViolation, InvalidArgument


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str


async def enroll_totp(
    command: commands.EnrollTotp, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> Enrolment:
    """Only the account holder enrols (an admin who could would hold their second factor), and
    only proven again: a stolen access token alone cannot plant a factor."""
    require_self_or_role(str(command.user_id))
    async with uow:
        user = await existing_user(uow, command.user_id)
    await _prove_holder(uow, user, command.proof, clock)
    async with uow:
        factor = await uow.mfa.factor(user.id)
        if factor is not None and factor.active:
            raise FailedPrecondition("MFA_ALREADY_ENROLLED", "mfa.already_enrolled")
        secret = totp.new_secret()
        await uow.mfa.replace_pending(user.id, secret, clock())
        await uow.commit()
    return Enrolment(secret, totp.provisioning_uri(secret, user.email))


async def confirm_totp(
    command: commands.ConfirmTotp, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> list[str]:
    """Activates the pending factor, proven again like enrolment; returns the recovery codes,
    the only time they exist in clear."""
    require_self_or_role(str(command.user_id))
    async with uow:
        user = await existing_user(uow, command.user_id)
    await _prove_holder(uow, user, command.proof, clock)
    now = clock()
    async with uow:
        factor = await uow.mfa.factor(command.user_id)
        if factor is None or factor.active:
            raise FailedPrecondition("MFA_NOT_PENDING", "mfa.not_pending")
        step = totp.matching_step(factor.secret, command.code.strip(), now)
        if step is None or not await uow.mfa.use_step(factor.user_id, step, confirm_at=now):
            raise InvalidArgument([FieldViolation("code", "mfa.invalid_code")])
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        await uow.mfa.replace_recovery_codes(
            factor.user_id,
            [hash_recovery_code(factor.user_id, normalize_recovery_code(c)) for c in codes],
        )
        await uow.commit()
    return codes


async def active_factor(uow: IdentityUnitOfWork, user_id: uuid.UUID) -> TotpFactor | None:
    async with uow:
        factor = await uow.mfa.factor(user_id)
    return factor if factor is not None and factor.active else None


async def second_factor_passes(
    uow: IdentityUnitOfWork, user: User, factor: TotpFactor, code: str, now: datetime
) -> bool:
    """A current TOTP code not used before, or an unused recovery code (then used up)."""
    code = code.strip()
    async with uow:
        if is_totp_code(code):
            step = totp.matching_step(factor.secret, code, now)
            passed = step is not None and await uow.mfa.use_step(user.id, step)
        else:
            code_hash = hash_recovery_code(user.id, normalize_recovery_code(code))
            passed = await uow.mfa.use_recovery_code(user.id, code_hash, now)
        await uow.commit()
    return passed


async def disable_totp(
    command: commands.DisableTotp, uow: IdentityUnitOfWork, clock: Clock = utcnow
) -> None:
    """The holder proves possession of the factor and, again, of the account; the code is
    guessed like a password, so it is throttled like one. An admin (support) may reset a lost
    factor without either."""
    principal = require_self_or_role(str(command.user_id), "admin")
    is_holder = principal.user_id == str(command.user_id)
    factor = await active_factor(uow, command.user_id)
    if factor is None:
        raise FailedPrecondition("MFA_NOT_ENROLLED", "mfa.not_enrolled")
    if is_holder:
        if not command.code:
            raise InvalidArgument([FieldViolation("code", "field.required")])
        async with uow:
            user = await existing_user(uow, command.user_id)

        async def code_passes() -> bool:
            return await second_factor_passes(uow, user, factor, command.code, clock())

        await _prove_holder(uow, user, command.proof, clock, code_passes)
    async with uow:
        await uow.mfa.remove(command.user_id)
        await uow.commit()


async def _prove_holder(
    uow: IdentityUnitOfWork,
    user: User,
    proof: commands.HolderProof,
    clock: Clock,
    second_factor_passes: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """The password (or a sign-in of the calling session within the re-authentication window)
    and, when given, the second factor: one attempt, counted against the account's and the
    address's keys before either is checked, as at sign-in."""
    if not proof.password:
        await _require_recent_sign_in(uow, clock())
    keys = [account_key(user.email), address_key(proof.client_address)]
    await throttle.count_attempt(uow, keys, clock)
    if proof.password:
        await throttle.require_password(uow, user, proof.password)
    if second_factor_passes is not None and not await second_factor_passes():
        raise InvalidArgument([FieldViolation("code", "mfa.invalid_code")])
    await throttle.forgive_attempt_alone(uow, keys)


async def _require_recent_sign_in(uow: IdentityUnitOfWork, now: datetime) -> None:
    session_id = current_principal().session_id
    async with uow:
        session = await uow.sessions.get(uuid.UUID(session_id)) if session_id else None
    if session is None or not recently_signed_in(session.created_at, now):
        raise FailedPrecondition("REAUTHENTICATION_REQUIRED", "mfa.reauthentication_required")
