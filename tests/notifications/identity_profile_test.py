"""A member's language and time zone in Notifications follow Identity's profile, its one
source, whatever order its events arrive in; the preferences show the zone but do not set it."""

from __future__ import annotations

import uuid
from functools import partial

from notifications.support import EVENT_SECRETS, lives_in
from stride.identity.events.v1.events_pb2 import UserRegistered
from stride.notifications.adapters.templates import Templates
from stride.notifications.domain.preferences import Preferences
from stride.notifications.service_layer import events, members
from stride.notifications.service_layer.unit_of_work import NotificationsUnitOfWork
from stride.platform.auth import Principal, authenticated_as
from stride.platform.events.envelope import make_envelope

MAIL = events.AccountEmails(Templates(), "https://edge.stride.test", EVENT_SECRETS)


async def registered(
    new_uow: partial[NotificationsUnitOfWork], user: uuid.UUID, time_zone: str, language: str
) -> None:
    """Identity's `user.registered` (a social sign-in's: no link to email), as consumed."""
    event = make_envelope(
        source="identity",
        event_type="identity.user.registered.v1",
        subject=f"users/{user}",
        payload=UserRegistered(
            user=f"users/{user}",
            email=f"{user.hex}@example.com",
            language_code=language,
            time_zone=time_zone,
            profile_revision=1,
        ),
    )
    async with new_uow() as uow:
        await events.on_user_registered(event, uow, mail=MAIL)
        await uow.commit()


async def seen_by_notifications(
    new_uow: partial[NotificationsUnitOfWork], user: uuid.UUID
) -> tuple[Preferences, str | None, str | None]:
    async with new_uow() as uow:
        return (
            await uow.notifications.preferences_of(user),
            await uow.notifications.language_of(user),
            await uow.notifications.address_of(user),
        )


async def test_the_zone_and_language_of_sign_up_then_of_each_newer_profile_change(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    member = uuid.uuid4()
    await registered(new_uow, member, "Asia/Riyadh", "ar")
    signed_up, _, _ = await seen_by_notifications(new_uow, member)

    await lives_in(new_uow, member, "Europe/London", "en", revision=3)
    await lives_in(new_uow, member, "Asia/Dubai", "ar", revision=2)  # Older, arriving late.
    await registered(new_uow, member, "Asia/Riyadh", "ar")  # Redelivered, later still.
    now, language, address = await seen_by_notifications(new_uow, member)

    assert signed_up.time_zone == "Asia/Riyadh"
    assert (now.time_zone, language) == ("Europe/London", "en")
    assert address == f"{member.hex}@example.com"


async def test_a_profile_change_overtaking_the_registration_is_kept(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    member = uuid.uuid4()
    await lives_in(new_uow, member, "America/Sao_Paulo", "en", revision=2)
    await registered(new_uow, member, "Asia/Riyadh", "ar")

    preferences, language, address = await seen_by_notifications(new_uow, member)
    assert (preferences.time_zone, language) == ("America/Sao_Paulo", "en")
    assert address == f"{member.hex}@example.com"  # The registration still gave its address.


async def test_the_preferences_show_identity_s_zone_and_an_update_naming_it_leaves_it(
    new_uow: partial[NotificationsUnitOfWork],
) -> None:
    member = uuid.uuid4()
    await lives_in(new_uow, member, "Asia/Riyadh")
    with authenticated_as(Principal(user_id=str(member), roles=frozenset({"member"}))):
        updated = await members.update_preferences(
            new_uow(),
            member,
            {"time_zone": "Europe/Paris", "quiet_hours_start": "22:00", "quiet_hours_end": "07:00"},
        )
        stored = await members.preferences(new_uow(), member)

    assert updated.time_zone == stored.time_zone == "Asia/Riyadh"
    assert stored.quiet_start is not None
