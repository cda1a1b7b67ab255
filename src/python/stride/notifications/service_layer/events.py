"""What Notifications does with other services' events: notifications for the inbox (with
their pushes), emails and class reminders, written in the unit of work the consumer opened
beside its inbox row (and commits), so an event delivered twice is stored once. Sending
happens later (`sending`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

from stride.activity.events.v1.events_pb2 import GoalAchieved, PersonalRecordsSet, StreakChanged
from stride.billing.events.v1.events_pb2 import PaymentChanged, SubscriptionChanged
from stride.events.v1.envelope_pb2 import Envelope
from stride.events.v1.sealed_secret_pb2 import SealedSecret
from stride.identity.events.v1.events_pb2 import (
    PasswordResetRequested,
    UserEmailChanged,
    UserEmailChangeRequested,
    UserEmailChangeReverted,
    UserEmailReuseAttempted,
    UserEmailVerificationRequested,
    UserProfileChanged,
    UserRegistered,
)
from stride.notifications import translations  # noqa: F401 - registers the texts.
from stride.notifications.adapters.repository import NotificationRepository
from stride.notifications.adapters.templates import Rendered
from stride.notifications.domain.member_text import plain_name
from stride.notifications.domain.notifications import (
    DeliveryState,
    Email,
    Notification,
    Sms,
    notification_id,
)
from stride.notifications.domain.preferences import (
    CAP_LOOKBACK,
    DEFAULT_TIME_ZONE,
    Category,
    next_allowed,
    under_daily_cap,
)
from stride.notifications.domain.reminders import Reminder
from stride.notifications.service_layer.send_limits import account_email_allowed, text_allowed
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.clock import Clock, utcnow
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.events.secrets import open_secret
from stride.platform.i18n import CATALOG, Locale, negotiate_locale
from stride.platform.resource_names import parse_user_name
from stride.scheduling.events.v1.events_pb2 import BookingChanged, ClassChanged

# The template version each of Identity's emails uses now; older ones stay for previews.
ACCOUNT_TEMPLATES = {
    "email_verification": 1,
    "email_change": 1,
    "email_changed": 2,  # 2: a "this wasn't me" link that takes the account back.
    "email_reuse_attempted": 1,
    "password_reset": 1,
}


class Renderer(Protocol):
    def render(
        self, kind: str, version: int, language: str, values: Mapping[str, object]
    ) -> Rendered:
        ...


@dataclass(frozen=True)
class AccountEmails:
    """Identity's emails: links that act on the account, rendered in the user's language from
    versioned templates and sent whatever the user's preferences (they are transactional), and
    never to the inbox (a link is a credential). Their tokens arrive sealed for Notifications
    and are opened only to be written, sealed again, into the email."""

    templates: Renderer
    public_base_url: str  # The app's links live under it (its universal/app links).
    event_secrets: DataKeyring  # Opens the tokens in Identity's events.

    def link(self, path: str, token: str | None = None) -> str:
        query = f"?{urlencode({'token': token})}" if token else ""
        return f"{self.public_base_url.rstrip('/')}/{path}{query}"

    def token_link(
        self, path: str, envelope: Envelope, user: str, to: str, sealed: SealedSecret
    ) -> str:
        """The link, for address `to`, carrying the token sealed in `envelope`'s event about
        `user`; a token sealed for another event, user or address makes the event
        unprocessable."""
        token = open_secret(
            self.event_secrets, sealed, event_type=envelope.type, user=user, recipient=to
        )
        return self.link(path, token)

    async def send(
        self,
        uow: NotificationsUnitOfWork,
        event_id: str,
        user_id: uuid.UUID,
        to: str,
        language: Locale,
        kind: str,
        values: Mapping[str, object],
        now: datetime,
        version: int | None = None,
    ) -> None:
        """Queues the email, once per event and user (sealed at rest: its links are
        credentials), from the template's current version unless `version` names another,
        unless the address had its hourly share of account emails: a form anyone can submit
        must not flood someone's inbox. A `name` among the values is the member's own text: it
        is printed as plain words, without links or line breaks."""
        if not await account_email_allowed(uow, user_id, to, now):
            return
        if "name" in values:
            values = {**values, "name": plain_name(str(values["name"]))}
        rendered = self.templates.render(kind, version or ACCOUNT_TEMPLATES[kind], language, values)
        email = Email(
            notification_id(event_id, user_id),
            user_id,
            to,
            language,
            rendered.subject,
            rendered.text,
            rendered.html,
            DeliveryState.PENDING,
            0,
            now,
        )
        await uow.emails.add(email, now)


async def on_user_registered(
    envelope: Envelope, uow: NotificationsUnitOfWork, mail: AccountEmails, clock: Clock = utcnow
) -> None:
    """Consumes `identity.user.registered`: remembers how to address the user, their language
    and time zone (unless a later profile change got here first), and emails the link that
    verifies their address."""
    registered = UserRegistered()
    envelope.data.Unpack(registered)
    user_id = parse_user_name(registered.user, "user")
    language, now = negotiate_locale(registered.language_code), clock()
    await uow.notifications.keep_address(user_id, registered.email, now)
    await uow.notifications.keep_profile(
        user_id,
        language,
        registered.time_zone or DEFAULT_TIME_ZONE,  # Identity's events before zones: none.
        registered.profile_revision,
        now,
    )
    if registered.HasField("sealed_email_verification_token"):  # Not social sign-ins: verified.
        sealed = registered.sealed_email_verification_token
        values = {
            "name": registered.display_name,
            "link": mail.token_link(
                "verify-email", envelope, registered.user, registered.email, sealed
            ),
            "expire_time": _utc(registered.email_verification_expire_time),
        }
        await mail.send(
            uow,
            envelope.id,
            user_id,
            registered.email,
            language,
            "email_verification",
            values,
            now,
        )


async def on_profile_changed(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `identity.user.profile_changed`: messages follow the user's new language, and
    quiet hours, reminders and times in messages their new time zone — unless an even newer
    revision of the profile arrived first."""
    changed = UserProfileChanged()
    envelope.data.Unpack(changed)
    await uow.notifications.keep_profile(
        parse_user_name(changed.user, "user"),
        negotiate_locale(changed.language_code),
        changed.time_zone,
        changed.profile_revision,
        clock(),
    )


async def on_email_change_requested(
    envelope: Envelope, uow: NotificationsUnitOfWork, mail: AccountEmails, clock: Clock = utcnow
) -> None:
    """Consumes `identity.user.email_change_requested`: the confirming link, to the new
    address (which proves it is theirs)."""
    requested = UserEmailChangeRequested()
    envelope.data.Unpack(requested)
    values = {
        "link": mail.token_link(
            "confirm-email-change",
            envelope,
            requested.user,
            requested.new_email,
            requested.sealed_token,
        ),
        "expire_time": _utc(requested.expire_time),
    }
    await mail.send(
        uow,
        envelope.id,
        parse_user_name(requested.user, "user"),
        requested.new_email,
        negotiate_locale(requested.language_code),
        "email_change",
        values,
        clock(),
    )


async def on_email_changed(
    envelope: Envelope, uow: NotificationsUnitOfWork, mail: AccountEmails, clock: Clock = utcnow
) -> None:
    """Consumes `identity.user.email_changed`: messages go to the new address from now on, and
    the old one is told, with a "this wasn't me" link that takes the account back (events
    from before such links: to the password-reset page)."""
    changed = UserEmailChanged()
    envelope.data.Unpack(changed)
    user_id = parse_user_name(changed.user, "user")
    language, now = negotiate_locale(changed.language_code), clock()
    await uow.notifications.keep_address(user_id, changed.email, now)
    values: dict[str, object] = {"new_email": partly_hidden(changed.email)}
    if changed.HasField("sealed_revert_token"):
        values["link"] = mail.token_link(
            "revert-email-change",
            envelope,
            changed.user,
            changed.previous_email,
            changed.sealed_revert_token,
        )
        values["expire_time"] = _utc(changed.revert_expire_time)
        version = ACCOUNT_TEMPLATES["email_changed"]
    else:
        values["link"] = mail.link("password-reset")
        version = 1
    await mail.send(
        uow,
        envelope.id,
        user_id,
        changed.previous_email,
        language,
        "email_changed",
        values,
        now,
        version,
    )


async def on_email_change_reverted(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `identity.user.email_change_reverted`: messages go to the address the account
    is back on."""
    reverted = UserEmailChangeReverted()
    envelope.data.Unpack(reverted)
    await uow.notifications.keep_address(
        parse_user_name(reverted.user, "user"), reverted.email, clock()
    )


async def on_email_verification_requested(
    envelope: Envelope, uow: NotificationsUnitOfWork, mail: AccountEmails, clock: Clock = utcnow
) -> None:
    """Consumes `identity.user.email_verification_requested`: a new link that verifies an
    account's address, as the welcome email's does."""
    requested = UserEmailVerificationRequested()
    envelope.data.Unpack(requested)
    values = {
        "name": requested.display_name,
        "link": mail.token_link(
            "verify-email", envelope, requested.user, requested.email, requested.sealed_token
        ),
        "expire_time": _utc(requested.expire_time),
    }
    await mail.send(
        uow,
        envelope.id,
        parse_user_name(requested.user, "user"),
        requested.email,
        negotiate_locale(requested.language_code),
        "email_verification",
        values,
        clock(),
    )


_REUSE_ATTEMPTS = {
    UserEmailReuseAttempted.ATTEMPT_SIGN_UP: "sign_up",
    UserEmailReuseAttempted.ATTEMPT_EMAIL_CHANGE: "email_change",
}


async def on_email_reuse_attempted(
    envelope: Envelope, uow: NotificationsUnitOfWork, mail: AccountEmails, clock: Clock = utcnow
) -> None:
    """Consumes `identity.user.email_reuse_attempted`: tells the address's owner that someone
    tried to sign up with it, or to move another account to it (what Identity did not tell
    the caller)."""
    attempted = UserEmailReuseAttempted()
    envelope.data.Unpack(attempted)
    values = {"attempt": _REUSE_ATTEMPTS.get(attempted.attempt, "sign_up")}
    await mail.send(
        uow,
        envelope.id,
        parse_user_name(attempted.user, "user"),
        attempted.email,
        negotiate_locale(attempted.language_code),
        "email_reuse_attempted",
        values,
        clock(),
    )


def partly_hidden(address: str) -> str:
    """`layla@example.com` → `l****@example.com`: enough for the owner to recognise."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 1)}@{domain}"


def _utc(moment: Timestamp) -> str:
    return moment.ToDatetime(UTC).strftime("%Y-%m-%d %H:%M")


async def on_waitlist_promoted(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.waitlist.promoted`: the member's waitlist place became a booking.
    Into their inbox, a push to each of their devices, and a reminder before the class."""
    promoted = BookingChanged()
    envelope.data.Unpack(promoted)
    member_id = parse_user_name(promoted.member, "member")
    now = clock()
    await notify(
        uow,
        envelope.id,
        member_id,
        "waitlist.promoted",
        promoted.booking,
        now,
    )
    await uow.reminders.schedule(_reminder(promoted, member_id), now)


async def on_personal_records_set(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `activity.personal_record.set`: one push for the exercise, naming the
    heaviest of the rep maxes the session set (every new estimated max comes with one); for an
    uploaded run's best efforts, one naming the longest distance it beat."""
    records = PersonalRecordsSet()
    envelope.data.Unpack(records)
    efforts = [r for r in records.records if r.kind == "best_effort"]
    if efforts:
        longest = max(efforts, key=lambda record: record.distance_meters)
        await notify(
            uow,
            envelope.id,
            parse_user_name(records.member, "member"),
            "personal_record.best_effort",
            records.imported_activity,
            clock(),
            Category.ACHIEVEMENT,
            {
                "distance_en": distance_name(longest.distance_meters, "en"),
                "distance_ar": distance_name(longest.distance_meters, "ar"),
                "time": clock_time(longest.elapsed_time_seconds),
            },
        )
        return
    rep_maxes = [r for r in records.records if r.kind == "rep_max"] or list(records.records)
    best = max(rep_maxes, key=lambda record: (record.weight_kg, record.reps))
    values = {
        "exercise_en": plain_name(records.exercise_display_name_en),
        "exercise_ar": plain_name(records.exercise_display_name_ar),
        "weight": f"{best.weight_kg:g}",
        "reps": best.reps,
    }
    await notify(
        uow,
        envelope.id,
        parse_user_name(records.member, "member"),
        "personal_record.set",
        records.workout_session,
        clock(),
        Category.ACHIEVEMENT,
        values,
    )


# The best efforts' distances as members call them (Activity's `domain.best_efforts`).
_DISTANCE_NAMES = {
    21097.5: {"en": "half marathon", "ar": "نصف الماراثون"},
    42195.0: {"en": "marathon", "ar": "الماراثون"},
}


def distance_name(meters: float, language: str) -> str:
    named = _DISTANCE_NAMES.get(meters)
    if named is not None:
        return named[language]
    kilometers = f"{meters / 1000:g}"
    return f"{kilometers} km" if language == "en" else f"{kilometers} كم"


def clock_time(seconds: float) -> str:
    """`h:mm:ss`, or `m:ss` under an hour, as runners write times."""
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}" if hours else f"{minute}:{second:02d}"


async def on_streak_changed(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `activity.streak.extended` (a push to keep going) and `activity.streak.broken`
    (one to start again), each once."""
    changed = StreakChanged()
    envelope.data.Unpack(changed)
    kind = (
        "streak.broken"
        if envelope.type.startswith("activity.streak.broken.")
        else "streak.extended"
    )
    await notify(
        uow,
        envelope.id,
        parse_user_name(changed.member, "member"),
        kind,
        changed.member,
        clock(),
        Category.ACHIEVEMENT,
        {"days": changed.days},
    )


async def on_goal_achieved(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `activity.goal.achieved`: one push telling the member what they reached."""
    achieved = GoalAchieved()
    envelope.data.Unpack(achieved)
    values = {
        "target": f"{achieved.target:g}",
        "exercise_en": plain_name(achieved.exercise_display_name_en),
        "exercise_ar": plain_name(achieved.exercise_display_name_ar),
    }
    await notify(
        uow,
        envelope.id,
        parse_user_name(achieved.member, "member"),
        f"goal.achieved_{achieved.kind}",
        achieved.goal,
        clock(),
        Category.ACHIEVEMENT,
        values,
    )


async def on_booking_confirmed(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.booking.confirmed`: a reminder before the class."""
    confirmed = BookingChanged()
    envelope.data.Unpack(confirmed)
    await uow.reminders.schedule(
        _reminder(confirmed, parse_user_name(confirmed.member, "member")), clock()
    )


async def on_booking_ended(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.booking.cancelled` and `.late_cancelled` (a cancelled class
    cancels each of its bookings too): no reminder."""
    ended = BookingChanged()
    envelope.data.Unpack(ended)
    await uow.reminders.cancel(ended.booking, clock())


async def on_class_rescheduled(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.class.rescheduled`: everyone booked is told the new time, and
    their reminders move with it."""
    moved = ClassChanged()
    envelope.data.Unpack(moved)
    start, now = moved.start_time.ToDatetime(UTC), clock()
    await uow.reminders.move(moved.class_session, start, now)
    await _tell_class_members(uow, envelope.id, moved, "class.rescheduled", start, now)


async def on_class_cancelled(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `scheduling.class.cancelled`: everyone booked or waitlisted is told (their
    bookings' own `booking.cancelled` events end the reminders)."""
    cancelled = ClassChanged()
    envelope.data.Unpack(cancelled)
    start = cancelled.start_time.ToDatetime(UTC)
    await _tell_class_members(uow, envelope.id, cancelled, "class.cancelled", start, clock())


async def _tell_class_members(
    uow: NotificationsUnitOfWork,
    event_id: str,
    changed: ClassChanged,
    kind: str,
    start: datetime,
    now: datetime,
) -> None:
    for member in changed.members:
        member_id = parse_user_name(member, "members")
        values = await local_time(uow.notifications, member_id, start)
        await notify(uow, event_id, member_id, kind, changed.class_session, now, values=values)


async def local_time(
    repository: NotificationRepository, user_id: uuid.UUID, moment: datetime
) -> dict[str, str]:
    """`moment` as the user reads it: `date` and `time` on their clock."""
    zone = ZoneInfo((await repository.preferences_of(user_id)).time_zone)
    local = moment.astimezone(zone)
    return {"date": local.strftime("%Y-%m-%d"), "time": local.strftime("%H:%M")}


async def on_payment_failed(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes `billing.payment.failed` for a purchase or a fee; a membership renewal that
    fails is told by `subscription.past_due` instead."""
    failed = PaymentChanged()
    envelope.data.Unpack(failed)
    if failed.subscription:
        return
    await notify(
        uow,
        envelope.id,
        parse_user_name(failed.member, "member"),
        "payment.failed",
        failed.purchase or failed.fee,
        clock(),
    )


SUBSCRIPTION_EVENTS = "billing.subscription.*.v1"
_ACCESS_ENDED = frozenset({"suspended", "cancelled"})
_TOLD = frozenset({"past_due", "suspended"})  # The renewal failed; the grace period ran out.


async def on_subscription_changed(
    envelope: Envelope, uow: NotificationsUnitOfWork, clock: Clock = utcnow
) -> None:
    """Consumes every `billing.subscription.*` event: whether the subscription still gives
    access (for campaign audiences); past due (with the retry's date) and suspended are also
    told to the member."""
    changed = SubscriptionChanged()
    envelope.data.Unpack(changed)
    what = envelope.type.removeprefix("billing.subscription.").removesuffix(".v1")
    member_id = parse_user_name(changed.member, "member")
    await uow.notifications.keep_membership(
        changed.subscription, member_id, what not in _ACCESS_ENDED, envelope.time.ToDatetime(UTC)
    )
    if what in _TOLD:
        renewal = changed.next_renewal_time.ToDatetime(UTC)
        values = await local_time(uow.notifications, member_id, renewal)
        await notify(
            uow,
            envelope.id,
            member_id,
            f"subscription.{what}",
            changed.subscription,
            clock(),
            values=values,
        )


def _reminder(booking: BookingChanged, member_id: uuid.UUID) -> Reminder:
    return Reminder(
        booking.booking, member_id, booking.class_session, booking.class_start_time.ToDatetime(UTC)
    )


async def notify(
    uow: NotificationsUnitOfWork,
    event_id: str,
    user_id: uuid.UUID,
    kind: str,
    subject: str,
    now: datetime,
    category: Category = Category.TRANSACTIONAL,
    values: Mapping[str, object] | None = None,
) -> None:
    """Writes the notification in the user's language, once per event, with a push for each of
    their devices: at once if transactional (and texted too, to a number they verified, within
    the day's text caps); if marketing, only when the user opted in, up to the day's cap, and
    after their quiet hours."""
    repository = uow.notifications
    language = negotiate_locale(await repository.language_of(user_id))
    key = f"notification.{kind.replace('.', '_')}"
    notification = Notification(
        notification_id(event_id, user_id),
        user_id,
        kind,
        subject,
        CATALOG.translate(f"{key}.title", language, values),
        CATALOG.translate(f"{key}.body", language, values),
        now,
        marketing=category is Category.MARKETING,
    )
    if not await repository.add(notification):
        return
    due, devices = now, await repository.devices_of(user_id)
    preferences = await repository.preferences_of(user_id)
    if category is Category.ACHIEVEMENT:
        due = next_allowed(preferences, now)
    elif category is Category.MARKETING:
        due = next_allowed(preferences, now)
        sent = await repository.marketing_pushes_since([user_id], now - CAP_LOOKBACK)
        wanted = preferences.marketing_push and under_daily_cap(
            preferences, sent.get(user_id, []), now
        )
        devices = devices if wanted else []
    elif (
        preferences.phone_verified
        and uow.limits.textable(number := preferences.phone_number)
        and await text_allowed(uow, user_id, number, now)
    ):
        text = f"{notification.title}\n{notification.body}"
        sms = Sms(notification.id, user_id, number, text, DeliveryState.PENDING, 0, now)
        await uow.texts.add(sms, now)
    await repository.add_deliveries(notification.id, devices, due, now)


async def on_password_reset_requested(
    envelope: Envelope, uow: NotificationsUnitOfWork, mail: AccountEmails, clock: Clock = utcnow
) -> None:
    """Consumes `identity.password_reset.requested`: the link, emailed in the user's
    language."""
    requested = PasswordResetRequested()
    envelope.data.Unpack(requested)
    values = {
        "link": mail.token_link(
            "password-reset", envelope, requested.user, requested.email, requested.sealed_token
        ),
        "expire_time": _utc(requested.expire_time),
    }
    await mail.send(
        uow,
        envelope.id,
        parse_user_name(requested.user, "user"),
        requested.email,
        negotiate_locale(requested.language_code),
        "password_reset",
        values,
        clock(),
    )
