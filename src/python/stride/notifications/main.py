"""Notifications service process: `python -m stride.notifications.main` (settings from
STRIDE_* env)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from stride.notifications.adapters import pruning
from stride.notifications.adapters.fcm_push import FcmPush, ServiceAccount
from stride.notifications.adapters.smtp_email import SmtpEmail
from stride.notifications.adapters.templates import Templates
from stride.notifications.adapters.twilio_sms import TwilioSms
from stride.notifications.config import NotificationsSettings
from stride.notifications.entrypoints.grpc_servicer import NotificationsServicer
from stride.notifications.service_layer import campaigns, events, sending
from stride.notifications.service_layer.campaigns import CampaignMail
from stride.notifications.service_layer.unit_of_work import SOURCE, NotificationsUnitOfWork
from stride.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from stride.platform.clock import utcnow
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.events.consumer import EventConsumer, EventHandler
from stride.platform.grpc.server import GrpcApp, ServiceRegistration
from stride.platform.service import Foundation, foundation, run_service
from stride.platform.tasks import Periodic

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
SERVICE_NAME = "stride.notifications.v1.NotificationsService"


Handler = EventHandler[NotificationsUnitOfWork]


def subscriptions(mail: events.AccountEmails) -> tuple[tuple[str, str, Handler], ...]:
    """What Notifications listens to: (producing service, event type, handler)."""

    def emailing(handler: Callable[..., Awaitable[None]]) -> Handler:
        return partial(handler, mail=mail)

    return (
        ("identity", "identity.user.registered.v1", emailing(events.on_user_registered)),
        (
            "identity",
            "identity.user.email_change_requested.v1",
            emailing(events.on_email_change_requested),
        ),
        ("identity", "identity.user.email_changed.v1", emailing(events.on_email_changed)),
        ("identity", "identity.user.email_change_reverted.v1", events.on_email_change_reverted),
        (
            "identity",
            "identity.user.email_verification_requested.v1",
            emailing(events.on_email_verification_requested),
        ),
        (
            "identity",
            "identity.user.email_reuse_attempted.v1",
            emailing(events.on_email_reuse_attempted),
        ),
        ("identity", "identity.user.profile_changed.v1", events.on_profile_changed),
        (
            "identity",
            "identity.password_reset.requested.v1",
            emailing(events.on_password_reset_requested),
        ),
        ("scheduling", "scheduling.waitlist.promoted.v1", events.on_waitlist_promoted),
        ("scheduling", "scheduling.booking.confirmed.v1", events.on_booking_confirmed),
        ("scheduling", "scheduling.booking.cancelled.v1", events.on_booking_ended),
        ("scheduling", "scheduling.booking.late_cancelled.v1", events.on_booking_ended),
        ("scheduling", "scheduling.class.rescheduled.v1", events.on_class_rescheduled),
        ("scheduling", "scheduling.class.cancelled.v1", events.on_class_cancelled),
        ("billing", "billing.payment.failed.v1", events.on_payment_failed),
        ("activity", "activity.personal_record.set.v1", events.on_personal_records_set),
        ("activity", "activity.streak.extended.v1", events.on_streak_changed),
        ("activity", "activity.streak.broken.v1", events.on_streak_changed),
        ("activity", "activity.goal.achieved.v1", events.on_goal_achieved),
        ("billing", events.SUBSCRIPTION_EVENTS, events.on_subscription_changed),
    )


def durable_name(event_type: str) -> str:
    """`billing.payment.failed.v1` → `notifications-billing-payment-failed`; a wildcard
    (`billing.subscription.*.v1`) reads as `any`."""
    name = event_type.rsplit(".", 1)[0].replace("*", "any").replace(".", "-")
    return f"notifications-{name}"


def consumers(
    base: Foundation,
    new_uow: Callable[[], NotificationsUnitOfWork],
    mail: events.AccountEmails,
) -> list[EventConsumer[NotificationsUnitOfWork]]:
    return [
        base.consumer(
            new_uow,
            handler,
            source=source,
            event_type=event_type,
            durable_name=durable_name(event_type),
        )
        for source, event_type, handler in subscriptions(mail)
    ]


def push_provider(settings: NotificationsSettings) -> FcmPush | None:
    if settings.fcm_service_account_file is None:
        return None
    account = ServiceAccount.from_json(settings.fcm_service_account_file.read_text())
    return FcmPush(settings.fcm_api_base, settings.fcm_project_id, account)


def texter(settings: NotificationsSettings) -> TwilioSms | None:
    if not settings.twilio_account_sid:
        return None
    return TwilioSms(
        settings.twilio_api_base,
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        settings.sms_from,
    )


def mailer(settings: NotificationsSettings) -> SmtpEmail | None:
    if settings.smtp_host is None:
        return None
    return SmtpEmail(
        settings.smtp_host,
        settings.smtp_port,
        settings.email_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        starttls=settings.smtp_starttls,
    )


def campaign_mail(settings: NotificationsSettings, templates: Templates) -> CampaignMail | None:
    """How campaigns email, or None while marketing email is not set up."""
    secret = settings.unsubscribe_secret.get_secret_value()
    if settings.smtp_host is None or not secret:
        return None
    return CampaignMail(
        templates,
        secret.encode(),
        settings.unsubscribe_page_url,
        f"{settings.public_base_url.rstrip('/')}/v1/notificationPreferences:unsubscribe",
    )


async def build_app(settings: NotificationsSettings) -> GrpcApp:
    base = foundation(settings, SOURCE, MIGRATIONS)
    data_keys = DataKeyring.from_spec(settings.data_keys, settings.data_key_active)
    new_uow = partial(NotificationsUnitOfWork, base.sessions, data_keys, settings.send_limits())
    templates = Templates()
    account_mail = events.AccountEmails(
        templates, settings.public_base_url, settings.event_secrets()
    )
    listening = consumers(base, new_uow, account_mail)
    mail = campaign_mail(settings, templates)

    async def remind() -> None:
        await sending.send_due_reminders(new_uow)

    async def plan_campaigns() -> None:
        await campaigns.plan_due(new_uow, mail)

    async def prune_send_limits() -> None:
        await pruning.prune_send_limits(base.sessions, utcnow())

    jobs = [
        Periodic("send-reminders", settings.send_every_seconds, remind),
        Periodic("plan-campaigns", settings.send_every_seconds, plan_campaigns),
        Periodic("prune-send-limits", settings.prune_every_seconds, prune_send_limits),
    ]
    on_stop: list[Callable[[], Awaitable[None]]] = []
    push = push_provider(settings)
    if push is not None:

        async def send() -> None:
            await sending.send_due(new_uow, push)

        jobs.append(Periodic("send-pushes", settings.send_every_seconds, send))
        on_stop.append(push.close)
    email = mailer(settings)
    if email is not None:

        async def send_emails() -> None:
            await sending.send_due_emails(new_uow, email)

        jobs.append(Periodic("send-emails", settings.send_every_seconds, send_emails))
    sms = texter(settings)
    if sms is not None:

        async def send_texts() -> None:
            await sending.send_due_texts(new_uow, sms)

        jobs.append(Periodic("send-texts", settings.send_every_seconds, send_texts))
        on_stop.append(sms.close)
    return GrpcApp(
        settings=settings,
        services=[
            ServiceRegistration(
                SERVICE_NAME,
                pb_grpc.add_NotificationsServiceServicer_to_server,
                NotificationsServicer(
                    new_uow,
                    templates,
                    mail,
                    settings.unsubscribe_secret.get_secret_value().encode(),
                    sms,
                ),
            )
        ],
        on_start=[
            *base.on_start,
            *(consumer.start for consumer in listening),
            *(job.start for job in jobs),
        ],
        on_stop=[
            *base.on_stop,
            *(consumer.stop for consumer in listening),
            *(job.stop for job in jobs),
            *on_stop,
        ],
    )


def main() -> None:
    run_service(NotificationsSettings, build_app)


if __name__ == "__main__":
    main()
