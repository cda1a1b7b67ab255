"""Use cases of wearable providers: connecting and disconnecting a member's account, keeping its
tokens fresh, taking the provider's webhooks and importing the activities they announce.

No provider is called inside a transaction: each use case reserves in one (a consumed state, a
connection marked disconnecting, a refresh lease), calls the provider, then settles in another.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from stride.activity.domain.providers import (
    ActivityData,
    ChangeKind,
    ConnectionState,
    ImportedActivity,
    Provider,
    ProviderChange,
    ProviderConnection,
    ProviderTokens,
    WebhookNotice,
    granted_scopes,
    new_authorization,
    reads_activities,
    state_digest,
)
from stride.activity.events.v1 import events_pb2
from stride.activity.service_layer.commands import CompleteConnection, VerifyWebhook
from stride.activity.service_layer.event_types import SESSION_COMPLETED
from stride.activity.service_layer.ports import (
    ChangeQueue,
    ProviderRefused,
    Providers,
    ProviderUnavailable,
    RateLimited,
    TokenRejected,
    WearableProvider,
)
from stride.activity.service_layer.unit_of_work import ActivityUnitOfWork
from stride.platform.clock import Clock, utcnow
from stride.platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from stride.platform.events.consumer import RetryLater

# How long a caller may refresh a connection's tokens before another may try.
REFRESH_LEASE = timedelta(seconds=30)
_LEASE_POLL_SECONDS = 0.2

_log = logging.getLogger("stride.activity.providers")

NewUnitOfWork = Callable[[], ActivityUnitOfWork]


class ConnectionGone(Exception):
    """The connection was deleted meanwhile: there are no tokens to use."""


def _offered(providers: Providers, provider: Provider) -> WearableProvider:
    client = providers.get(provider)
    if client is None:
        raise FailedPrecondition("PROVIDER_NOT_OFFERED", "provider_connection.not_offered")
    return client


async def start_connection(
    uow: ActivityUnitOfWork,
    providers: Providers,
    member_id: uuid.UUID,
    provider: Provider,
    clock: Clock = utcnow,
) -> tuple[str, datetime]:
    """The provider's authorize page for the member, and when its state expires."""
    client = _offered(providers, provider)
    state, pending = new_authorization(member_id, provider, clock())
    async with uow:
        await uow.connections.add_authorization(pending)
        await uow.commit()
    return client.authorize_uri(state), pending.expire_time


async def complete_connection(
    new_uow: NewUnitOfWork,
    providers: Providers,
    command: CompleteConnection,
    clock: Clock = utcnow,
) -> ProviderConnection:
    client = _offered(providers, command.provider)
    async with new_uow() as uow:
        pending = await uow.connections.take_authorization(
            state_digest(command.state), command.member_id, command.provider
        )
        await uow.commit()  # Taken whatever happens next: a state is good for one try.
    if pending is None or not pending.completes(command.member_id, command.provider, clock()):
        raise InvalidArgument([FieldViolation("state", "provider_connection.state_invalid")])
    scopes = granted_scopes(command.scope)
    if not reads_activities(command.provider, scopes):
        raise InvalidArgument([FieldViolation("scope", "provider_connection.scope_missing")])
    try:
        grant = await client.exchange_code(command.code)
    except ProviderRefused:
        raise InvalidArgument(
            [FieldViolation("code", "provider_connection.code_invalid")]
        ) from None
    except ProviderUnavailable:
        raise Unavailable("PROVIDER_UNAVAILABLE", "provider_connection.unavailable") from None
    async with new_uow() as uow:
        connection = await uow.connections.connect(
            command.member_id, command.provider, grant, scopes, clock()
        )
        await uow.commit()
    return connection


async def list_connections(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[ProviderConnection]:
    async with uow:
        return await uow.connections.of_member(member_id, offset, limit)


async def disconnect(
    new_uow: NewUnitOfWork,
    providers: Providers,
    member_id: uuid.UUID,
    provider: Provider,
    clock: Clock = utcnow,
) -> None:
    """Marks the connection disconnecting (no more imports), revokes Stride's access at the
    provider, then deletes the tokens and what was imported with them. If the provider cannot
    be reached the connection stays disconnecting and deleting it again finishes."""
    async with new_uow() as uow:
        connection = await uow.connections.get(member_id, provider, lock=True)
        if connection is None:
            raise NotFound("PROVIDER_CONNECTION_NOT_FOUND", "provider_connection.not_found")
        await uow.connections.set_state(member_id, provider, ConnectionState.DISCONNECTING, clock())
        await uow.commit()
    client = providers.get(provider)
    if client is not None:  # A provider no longer configured has nothing to revoke with.
        try:
            await client.revoke(await access_token(new_uow, client, member_id, clock))
        except (ProviderRefused, ConnectionGone):
            pass  # Revoked at the provider already, or a concurrent disconnect finished.
        except ProviderUnavailable:
            raise Unavailable("PROVIDER_UNAVAILABLE", "provider_connection.unavailable") from None
    async with new_uow() as uow:
        await uow.connections.delete(member_id, provider)
        await uow.imported.delete_of_member(member_id, provider)
        await uow.commit()


async def access_token(
    new_uow: NewUnitOfWork,
    client: WearableProvider,
    member_id: uuid.UUID,
    clock: Clock = utcnow,
    *,
    rejected: str | None = None,
) -> str:
    """A live access token for the member's connection: the stored one, or a refreshed one if
    it expires soon or the provider `rejected` it. One caller refreshes a connection at a time
    (under a lease: the provider may invalidate a refresh token once used); the others wait
    for its tokens."""
    provider = client.provider
    while True:
        lease_id = uuid.uuid4()
        async with new_uow() as uow:
            tokens = await uow.connections.tokens(member_id, provider)
            if tokens is None:
                raise ConnectionGone()
            now = clock()
            if _usable(tokens, now, rejected):
                return tokens.access_token
            claimed = await uow.connections.claim_refresh(
                member_id, provider, lease_id, now, REFRESH_LEASE
            )
            if claimed is not None and _usable(claimed, now, rejected):
                return claimed.access_token  # Refreshed by another caller meanwhile.
            await uow.commit()
        if claimed is not None:
            break
        await asyncio.sleep(_LEASE_POLL_SECONDS)  # Another caller is refreshing: use its tokens.
    try:
        fresh = await client.refresh(claimed.refresh_token)
    except BaseException:
        await _settle_refresh(new_uow, member_id, provider, lease_id, None, clock)
        raise
    await _settle_refresh(new_uow, member_id, provider, lease_id, fresh, clock)
    return fresh.access_token


def _usable(tokens: ProviderTokens, now: datetime, rejected: str | None) -> bool:
    return not tokens.expiring(now) and tokens.access_token != rejected


async def _settle_refresh(
    new_uow: NewUnitOfWork,
    member_id: uuid.UUID,
    provider: Provider,
    lease_id: uuid.UUID,
    fresh: ProviderTokens | None,
    clock: Clock,
) -> None:
    async with new_uow() as uow:
        await uow.connections.settle_refresh(member_id, provider, lease_id, fresh, clock())
        await uow.commit()


def verify_webhook(command: VerifyWebhook, verify_token: str) -> str:
    """The challenge to echo back, if the call proves it knows our verify token."""
    if (
        command.mode != "subscribe"
        or not verify_token
        or not hmac.compare_digest(command.verify_token.encode(), verify_token.encode())
    ):
        # The call's own proof is wrong (as a bad signature): 401, never a 403 on a public RPC.
        raise Unauthenticated("WEBHOOK_VERIFY_TOKEN_MISMATCH", "webhook.verify_token_mismatch")
    return command.challenge


async def receive_webhook(
    uow: ActivityUnitOfWork, queue: ChangeQueue, notice: WebhookNotice, subscription_id: str
) -> None:
    """Queues the change a provider's webhook announces, if it is for our subscription and a
    connected member; acknowledged (and dropped) otherwise for accounts no member connected."""
    if not subscription_id or not hmac.compare_digest(
        notice.subscription_id.encode(), subscription_id.encode()
    ):
        raise Unauthenticated("WEBHOOK_SUBSCRIPTION_UNKNOWN", "webhook.unknown_subscription")
    change = notice.change
    if change is None:
        return
    async with uow:
        connection = await uow.connections.by_account(change.provider, change.account_id)
    if connection is None or connection.state is not ConnectionState.CONNECTED:
        return
    await queue.enqueue(change)


async def apply_change(
    new_uow: NewUnitOfWork, providers: Providers, change: ProviderChange, clock: Clock = utcnow
) -> None:
    """What a queued change does: imports the activity as the provider has it now (created or
    updated), deletes it, or forgets a member who withdrew access."""
    async with new_uow() as uow:
        connection = await uow.connections.by_account(change.provider, change.account_id)
    if connection is None or connection.state is not ConnectionState.CONNECTED:
        return  # Disconnected since the webhook came.
    if change.kind in (ChangeKind.ACCESS_REVOKED, ChangeKind.DELETED):
        await _remove(new_uow, connection.member_id, change)
        return
    client = providers.get(change.provider)
    if client is None:
        _log.warning("change for a provider not configured", extra={"provider": change.provider})
        return
    try:
        data = await _fetch(new_uow, client, connection.member_id, change.object_id, clock)
    except RateLimited as limited:
        raise RetryLater(limited.retry_after_seconds) from None
    except (ConnectionGone, ProviderRefused):
        return  # Disconnected, or access withdrawn at the provider (its webhook follows).
    if data is None:  # Deleted at the provider since, or no longer the member's to read.
        await _remove(new_uow, connection.member_id, replace(change, kind=ChangeKind.DELETED))
        return
    await _store(new_uow, ImportedActivity(connection.member_id, change.provider, data, clock()))


async def _remove(new_uow: NewUnitOfWork, member_id: uuid.UUID, change: ProviderChange) -> None:
    async with new_uow() as uow:
        if change.kind is ChangeKind.ACCESS_REVOKED:
            await uow.connections.delete(member_id, change.provider)
            await uow.imported.delete_of_member(member_id, change.provider)
        else:
            await uow.imported.delete(change.provider, change.object_id, member_id)
        await uow.commit()


async def _store(new_uow: NewUnitOfWork, activity: ImportedActivity) -> None:
    """Keeps the activity unless the member disconnected while it was read; announces it the
    first time."""
    async with new_uow() as uow:
        current = await uow.connections.get(activity.member_id, activity.provider)
        if current is None or current.state is not ConnectionState.CONNECTED:
            return
        if await uow.imported.save(activity):
            announce_imported(uow, activity)
        await uow.commit()


async def _fetch(
    new_uow: NewUnitOfWork,
    client: WearableProvider,
    member_id: uuid.UUID,
    external_id: str,
    clock: Clock,
) -> ActivityData | None:
    token = await access_token(new_uow, client, member_id, clock)
    try:
        return await client.fetch_activity(token, external_id)
    except TokenRejected:
        token = await access_token(new_uow, client, member_id, clock, rejected=token)
        return await client.fetch_activity(token, external_id)


def announce_imported(uow: ActivityUnitOfWork, activity: ImportedActivity) -> None:
    data = activity.data
    event = events_pb2.SessionCompleted(
        member=f"users/{activity.member_id}",
        imported_activity=activity.resource_name,
        source=activity.provider.value,
        sport_type=data.sport_type,
        distance_meters=data.distance_meters,
    )
    event.start_time.FromDatetime(data.start_time)
    event.end_time.FromDatetime(data.start_time + timedelta(seconds=data.elapsed_seconds))
    uow.publish(SESSION_COMPLETED, subject=activity.resource_name, payload=event)


async def list_imported(
    uow: ActivityUnitOfWork, member_id: uuid.UUID, offset: int, limit: int
) -> list[ImportedActivity]:
    async with uow:
        return await uow.imported.latest(member_id, offset, limit)
