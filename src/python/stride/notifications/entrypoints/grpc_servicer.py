"""NotificationsService over gRPC: proto → use case → proto; errors become statuses in the
platform's interceptor."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc
from google.protobuf import empty_pb2

from stride.notifications.adapters.templates import Templates
from stride.notifications.domain.notifications import Device, Notification
from stride.notifications.domain.preferences import Preferences
from stride.notifications.entrypoints.campaign_protos import (
    PLATFORMS,
    audience_from_proto,
    campaign_to_proto,
    channels_from_proto,
    per_second_from_proto,
    send_time_from_proto,
    variants_from_proto,
)
from stride.notifications.entrypoints.delivery_protos import (
    delivery_filter,
    delivery_name,
    delivery_to_proto,
)
from stride.notifications.service_layer import campaigns, deliveries, members, phones, previews
from stride.notifications.service_layer.campaigns import CampaignMail
from stride.notifications.service_layer.commands import SendPhoneCode, VerifyPhoneNumber
from stride.notifications.service_layer.sending import Texter
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.notifications.v1 import notifications_service_pb2 as pb
from stride.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from stride.platform.errors import FieldViolation, InvalidArgument
from stride.platform.grpc.field_masks import updated_fields
from stride.platform.grpc.timestamps import timestamp
from stride.platform.pagination import Page
from stride.platform.resource_names import parse_user_name, parse_uuid_ids


def _preferences_owner(name: str) -> uuid.UUID:
    """`users/{user}/notificationPreferences` → the user."""
    owner, _, singleton = name.rpartition("/")
    if singleton != "notificationPreferences":
        raise InvalidArgument([FieldViolation("name", "preferences.invalid_name")])
    (user_id,) = parse_uuid_ids(
        owner, ("users",), field="name", message_key="preferences.invalid_name"
    )
    return user_id


def preferences_to_proto(preferences: Preferences) -> pb.NotificationPreferences:
    fields = members.preference_fields(preferences)
    return pb.NotificationPreferences(
        name=preferences.resource_name,
        time_zone=preferences.time_zone,
        quiet_hours_start=str(fields["quiet_hours_start"]),
        quiet_hours_end=str(fields["quiet_hours_end"]),
        marketing_push=preferences.marketing_push,
        marketing_email=preferences.marketing_email,
        phone_number=preferences.phone_number,
        phone_number_verified=preferences.phone_verified,
    )


def device_to_proto(device: Device) -> pb.Device:
    platform = next(proto for proto, known in PLATFORMS.items() if known is device.platform)
    return pb.Device(
        name=device.resource_name, platform=platform, create_time=timestamp(device.created)
    )


def notification_to_proto(notification: Notification) -> pb.Notification:
    proto = pb.Notification(
        name=notification.resource_name,
        kind=notification.kind,
        title=notification.title,
        body=notification.body,
        subject=notification.subject,
        create_time=timestamp(notification.created),
    )
    if notification.read is not None:
        proto.read_time.CopyFrom(timestamp(notification.read))
    return proto


class NotificationsServicer(pb_grpc.NotificationsServiceServicer):
    def __init__(
        self,
        unit_of_work: Callable[[], NotificationsUnitOfWork],
        templates: Templates,
        mail: CampaignMail | None,
        unsubscribe_secret: bytes,
        texter: Texter | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._templates = templates
        self._mail = mail  # None while marketing email is not set up.
        self._unsubscribe_secret = unsubscribe_secret
        self._texter = texter  # None while texting is off.

    async def Unsubscribe(  # noqa: N802
        self, request: pb.UnsubscribeRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await members.unsubscribe(self._unit_of_work(), self._unsubscribe_secret, request.token)
        return empty_pb2.Empty()

    async def PreviewTemplate(  # noqa: N802
        self, request: pb.PreviewTemplateRequest, context: grpc.aio.ServicerContext
    ) -> pb.TemplatePreview:
        rendered = previews.preview(
            self._templates,
            request.kind,
            request.version,
            request.language_code,
            dict(request.values),
        )
        return pb.TemplatePreview(subject=rendered.subject, text=rendered.text, html=rendered.html)

    async def RegisterDevice(  # noqa: N802 - generated gRPC method name.
        self, request: pb.RegisterDeviceRequest, context: grpc.aio.ServicerContext
    ) -> pb.Device:
        device = await members.register(
            self._unit_of_work(),
            parse_user_name(request.parent, "parent"),
            request.device.token,
            PLATFORMS.get(request.device.platform),
        )
        return device_to_proto(device)

    async def DeleteDevice(  # noqa: N802
        self, request: pb.DeleteDeviceRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        user_id, device_id = parse_uuid_ids(
            request.name, ("users", "devices"), field="name", message_key="device.invalid_name"
        )
        await members.unregister(self._unit_of_work(), user_id, device_id)
        return empty_pb2.Empty()

    async def ListNotifications(  # noqa: N802
        self, request: pb.ListNotificationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListNotificationsResponse:
        page = Page.of(request)
        fetched = await members.inbox(
            self._unit_of_work(),
            parse_user_name(request.parent, "parent"),
            page.offset,
            page.fetch_limit,
        )
        found, next_page_token = page.cut(fetched)
        return pb.ListNotificationsResponse(
            notifications=[notification_to_proto(n) for n in found],
            next_page_token=next_page_token,
        )

    async def GetNotificationPreferences(  # noqa: N802
        self, request: pb.GetNotificationPreferencesRequest, context: grpc.aio.ServicerContext
    ) -> pb.NotificationPreferences:
        found = await members.preferences(self._unit_of_work(), _preferences_owner(request.name))
        return preferences_to_proto(found)

    async def UpdateNotificationPreferences(  # noqa: N802
        self, request: pb.UpdateNotificationPreferencesRequest, context: grpc.aio.ServicerContext
    ) -> pb.NotificationPreferences:
        given = request.preferences
        paths = updated_fields(request, members.PREFERENCE_FIELDS)
        changes = {path: getattr(given, path) for path in paths}
        updated = await members.update_preferences(
            self._unit_of_work(), _preferences_owner(given.name), changes
        )
        return preferences_to_proto(updated)

    async def SendPhoneNumberCode(  # noqa: N802
        self, request: pb.SendPhoneNumberCodeRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        command = SendPhoneCode(_preferences_owner(request.name))
        await phones.send_phone_code(self._unit_of_work(), self._texter, command)
        return empty_pb2.Empty()

    async def VerifyPhoneNumber(  # noqa: N802
        self, request: pb.VerifyPhoneNumberRequest, context: grpc.aio.ServicerContext
    ) -> pb.NotificationPreferences:
        command = VerifyPhoneNumber(_preferences_owner(request.name), request.code)
        return preferences_to_proto(await phones.verify_phone_number(self._unit_of_work(), command))

    async def MarkNotificationRead(  # noqa: N802
        self, request: pb.MarkNotificationReadRequest, context: grpc.aio.ServicerContext
    ) -> pb.Notification:
        user_id, notification_id = parse_uuid_ids(
            request.name,
            ("users", "notifications"),
            field="name",
            message_key="notification.invalid_name",
        )
        read = await members.mark_read(self._unit_of_work(), user_id, notification_id)
        return notification_to_proto(read)

    async def ListDeliveries(  # noqa: N802
        self, request: pb.ListDeliveriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeliveriesResponse:
        page = Page.of(request)
        fetched = await deliveries.list_deliveries(
            self._unit_of_work(),
            delivery_filter(request.parent, request.filter),
            page.offset,
            page.fetch_limit,
        )
        found, next_page_token = page.cut(fetched)
        return pb.ListDeliveriesResponse(
            deliveries=[delivery_to_proto(status) for status in found],
            next_page_token=next_page_token,
        )

    async def RetryDelivery(  # noqa: N802
        self, request: pb.RetryDeliveryRequest, context: grpc.aio.ServicerContext
    ) -> pb.Delivery:
        retried = await deliveries.retry_delivery(
            self._unit_of_work(), *delivery_name(request.name)
        )
        return delivery_to_proto(retried)

    async def CreateCampaign(  # noqa: N802
        self, request: pb.CreateCampaignRequest, context: grpc.aio.ServicerContext
    ) -> pb.Campaign:
        given = request.campaign
        created = await campaigns.create(
            self._unit_of_work(),
            given.display_name,
            audience_from_proto(given.audience),
            variants_from_proto(list(given.variants)),
            send_time_from_proto(given),
            per_second_from_proto(given),
            channels_from_proto(given),
            self._mail,
        )
        return campaign_to_proto(created)

    async def GetCampaign(  # noqa: N802
        self, request: pb.GetCampaignRequest, context: grpc.aio.ServicerContext
    ) -> pb.Campaign:
        return campaign_to_proto(
            await campaigns.get(self._unit_of_work(), _campaign_id(request.name))
        )

    async def ListCampaigns(  # noqa: N802
        self, request: pb.ListCampaignsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCampaignsResponse:
        page = Page.of(request)
        fetched = await campaigns.newest(self._unit_of_work(), page.offset, page.fetch_limit)
        found, next_page_token = page.cut(fetched)
        return pb.ListCampaignsResponse(
            campaigns=[campaign_to_proto(report) for report in found],
            next_page_token=next_page_token,
        )

    async def CancelCampaign(  # noqa: N802
        self, request: pb.CancelCampaignRequest, context: grpc.aio.ServicerContext
    ) -> pb.Campaign:
        return campaign_to_proto(
            await campaigns.cancel_campaign(self._unit_of_work(), _campaign_id(request.name))
        )


def _campaign_id(name: str) -> uuid.UUID:
    (campaign_id,) = parse_uuid_ids(
        name, ("campaigns",), field="name", message_key="campaign.invalid_name"
    )
    return campaign_id
