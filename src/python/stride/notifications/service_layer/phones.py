"""A member proving their phone number theirs: transactional texts go to a number only once
its owner has typed back a one-time code texted to it, so nobody can point Stride's texts
(and their cost) at a number they do not hold.

Sending a code follows reserve, call, settle (ADR 0012): the code's hash and the counts are
committed first, then Twilio is called outside any transaction."""

from __future__ import annotations

import uuid
from dataclasses import replace

from stride.notifications import translations  # noqa: F401 - registers the texts.
from stride.notifications.domain.limits import (
    PHONE_CODE_LIFETIME,
    code_matches,
    code_usable,
    new_phone_code,
    well_formed_code,
)
from stride.notifications.domain.notifications import DeliveryState, SendOutcome, Sms
from stride.notifications.domain.preferences import Preferences
from stride.notifications.service_layer.commands import SendPhoneCode, VerifyPhoneNumber
from stride.notifications.service_layer.send_limits import phone_code_refused_until
from stride.notifications.service_layer.sending import Texter
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import require_self_or_role
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
    Unavailable,
)
from stride.platform.i18n import CATALOG, negotiate_locale


async def send_phone_code(
    uow: NotificationsUnitOfWork,
    texter: Texter | None,
    command: SendPhoneCode,
    clock: Clock = utcnow,
) -> None:
    """Texts a fresh code to the number in the member's preferences (the previous code stops
    working). Throttled per member per hour, within the member's daily texts, and per number
    per day."""
    require_self_or_role(str(command.user_id))
    if texter is None:
        raise FailedPrecondition("TEXTING_OFF", "phone.texting_off")
    now = clock()
    async with uow:
        preferences = await uow.notifications.preferences_of(command.user_id)
        number = preferences.phone_number
        if not number:
            raise FailedPrecondition("PHONE_NUMBER_MISSING", "phone.missing")
        if preferences.phone_verified:
            raise FailedPrecondition("PHONE_NUMBER_VERIFIED", "phone.verified")
        if not uow.limits.textable(number):  # Refused since it was saved: settings changed.
            raise FailedPrecondition("PHONE_NUMBER_NOT_TEXTABLE", "preferences.phone_not_textable")
        refused_until = await phone_code_refused_until(uow, command.user_id, number, now)
        if refused_until is not None:
            await uow.commit()  # The refused request counts too.
            raise ResourceExhausted(
                "TOO_MANY_PHONE_CODES",
                "phone.too_many_codes",
                retry_after_seconds=(refused_until - now).total_seconds(),
            )
        phone_code, code = new_phone_code(command.user_id, number, now)
        await uow.phone_codes.replace(phone_code, now)
        language = negotiate_locale(await uow.notifications.language_of(command.user_id))
        await uow.commit()
    body = CATALOG.translate(
        "phone.code_text",
        language,
        {"code": code, "minutes": int(PHONE_CODE_LIFETIME.total_seconds() // 60)},
    )
    sms = Sms(uuid.uuid4(), command.user_id, number, body, DeliveryState.SENDING, 0, now)
    outcome = await texter.send(sms)
    if outcome is SendOutcome.REFUSED:  # Not a mobile number, or its owner texted STOP.
        raise FailedPrecondition("PHONE_NUMBER_UNREACHABLE", "phone.unreachable")
    if outcome is not SendOutcome.SENT:
        raise Unavailable("PHONE_CODE_NOT_SENT", "phone.code_not_sent")


async def verify_phone_number(
    uow: NotificationsUnitOfWork, command: VerifyPhoneNumber, clock: Clock = utcnow
) -> Preferences:
    """Marks the member's number verified if `code` is the one texted to it. Each guess is
    counted (and committed) before it is checked; after PHONE_CODE_ATTEMPTS, or once expired,
    the code is spent and the member asks for another."""
    require_self_or_role(str(command.user_id))
    if not well_formed_code(command.code):
        raise InvalidArgument([FieldViolation("code", "phone.wrong_code")])
    now = clock()
    async with uow:
        guessed = await uow.phone_codes.guess(command.user_id)
        await uow.commit()
    if guessed is None or not code_usable(guessed, now):
        raise FailedPrecondition("PHONE_CODE_EXPIRED", "phone.code_expired")
    if not code_matches(guessed, command.code):
        raise InvalidArgument([FieldViolation("code", "phone.wrong_code")])
    async with uow:
        current = await uow.notifications.preferences_of(command.user_id)
        if current.phone_number != guessed.phone_number:  # Changed since the code was sent.
            raise FailedPrecondition("PHONE_CODE_EXPIRED", "phone.code_expired")
        verified = replace(current, verified_phone_number=guessed.phone_number)
        await uow.notifications.save_preferences(verified, now)
        await uow.phone_codes.remove(command.user_id)
        await uow.commit()
    return verified
