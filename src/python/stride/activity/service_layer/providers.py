"""Use cases of wearable providers: connecting and disconnecting a member's account, keeping its
tokens fresh, taking the provider's webhooks and importing what they announce (activities, and
daily figures stored as health samples under the member's device priority).

No provider is called inside a transaction: each use case reserves in one (a consumed state, a
connection marked disconnecting, a refresh lease), calls the provider, then settles in another.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from stride.activity.domain.providers import (
    PROVIDER_DEVICES,
    ChangeKind,
    ConnectionState,
    Fetched,
    Grant,
    ImportedActivity,
    Provider,
    ProviderChange,
    ProviderConnection,
    ProviderTokens,
    WebhookNotice,
    code_challenge,
    day_samples,
    granted_scopes,
    new_authorization,
    reads_activities,
    state_digest,
)
from stride.activity.events.v1 import events_pb2
from stride.activity.service_layer import health
from stride.activity.service_layer.commands import (
    CompleteConnection,
    UploadHealthSamples,
    VerifyWebhook,
)
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


# What a provider's answer can be short of a result.
_PROVIDER_FAILURES = (ProviderRefused, ProviderUnavailable, RateLimited, TokenRejected)


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
    return client.authorize_uri(state, code_challenge(pending.code_verifier)), pending.expire_time


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
    if command.scope and not reads_activities(command.provider, scopes):
        raise InvalidArgument([FieldViolation("scope", "provider_connection.scope_missing")])
    try:
        grant = await client.exchange_code(command.code, pending.code_verifier)
    except ProviderRefused:
        raise InvalidArgument(
            [FieldViolation("code", "provider_connection.code_invalid")]
        ) from None
    except (ProviderUnavailable, RateLimited):
        raise Unavailable("PROVIDER_UNAVAILABLE", "provider_connection.unavailable") from None
    # A provider that names the scopes in its token answer (Fitbit) is checked here.
    scopes = grant.scopes or scopes
    if not reads_activities(command.provider, scopes):
        await _revoke_quietly(client, grant)
        raise InvalidArgument([FieldViolation("scope", "provider_connection.scope_missing")])
    try:
        await client.subscribe(grant.tokens.access_token, grant.account_id)
    except _PROVIDER_FAILURES:
        await _revoke_quietly(client, grant)  # The member starts again: no grant left behind.
        raise Unavailable("PROVIDER_UNAVAILABLE", "provider_connection.unavailable") from None
    async with new_uow() as uow:
        connection = await uow.connections.connect(
            command.member_id, command.provider, grant, scopes, clock()
        )
        await uow.commit()
    return connection


async def _revoke_quietly(client: WearableProvider, grant: Grant) -> None:
    """Withdraws a grant Stride will not keep; one the provider cannot hear now expires."""
    with contextlib.suppress(*_PROVIDER_FAILURES):
        await client.revoke(grant.tokens.access_token, grant.account_id)


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
            token = await access_token(new_uow, client, member_id, clock)
            await client.revoke(token, connection.account_id)
        except (ProviderRefused, ConnectionGone):
            pass  # Revoked at the provider already, or a concurrent disconnect finished.
        except (ProviderUnavailable, RateLimited):
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
    if notice.change is not None:
        await receive_changes(uow, queue, [notice.change])


async def receive_changes(
    uow: ActivityUnitOfWork, queue: ChangeQueue, changes: Sequence[ProviderChange]
) -> None:
    """Queues the changes of connected members, from a webhook whose call is verified (by its
    signature or subscription); those of accounts no member connected are dropped."""
    async with uow:
        connected = [
            change
            for change in changes
            if (found := await uow.connections.by_account(change.provider, change.account_id))
            and found.state is ConnectionState.CONNECTED
        ]
    for change in connected:
        await queue.enqueue(change)


async def apply_change(
    new_uow: NewUnitOfWork,
    providers: Providers,
    change: ProviderChange,
    health_policy: health.HealthPolicy,
    clock: Clock = utcnow,
) -> None:
    """What a queued change does: imports what the provider has now (an activity created or
    updated, a day's activities and figures), deletes an activity, or forgets a member who
    withdrew access."""
    async with new_uow() as uow:
        connection = await uow.connections.by_account(change.provider, change.account_id)
    if connection is None or connection.state is not ConnectionState.CONNECTED:
        return  # Disconnected since the webhook came.
    member_id = connection.member_id
    if change.kind is ChangeKind.ACCESS_REVOKED:
        await _forget(new_uow, member_id, change.provider)
        return
    if change.kind is ChangeKind.PERMISSIONS_CHANGED:
        await _permissions_changed(new_uow, member_id, change)
        return
    if change.kind is ChangeKind.DELETED:
        await _store(new_uow, member_id, change.provider, Fetched(gone=(change.object_id,)), clock)
        return
    client = providers.get(change.provider)
    if client is None:
        _log.warning("change for a provider not configured", extra={"provider": change.provider})
        return
    try:
        fetched = await _fetch(new_uow, client, member_id, change, clock)
    except RateLimited as limited:
        raise RetryLater(limited.retry_after_seconds) from None
    except (ConnectionGone, ProviderRefused):
        return  # Disconnected, or access withdrawn at the provider (its webhook follows).
    if await _store(new_uow, member_id, change.provider, fetched, clock) and fetched.day:
        await health.store_samples(
            new_uow(),
            UploadHealthSamples(
                member_id=member_id,
                source=change.provider.value,
                device=PROVIDER_DEVICES[change.provider],
                samples=day_samples(fetched.day, clock()),
                # The day's samples stored before are replaced by what the provider has now.
                deleted_sample_ids=tuple(
                    sample.id for sample in day_samples(fetched.day, fetched.day.end_time)
                ),
                sync_anchor="",
            ),
            health_policy,
            clock,
        )


async def _permissions_changed(
    new_uow: NewUnitOfWork, member_id: uuid.UUID, change: ProviderChange
) -> None:
    """Keeps what the member allows now; a member who no longer lets Stride read activities
    is forgotten as if they had withdrawn access."""
    scopes = granted_scopes(change.object_id)
    if not reads_activities(change.provider, scopes):
        await _forget(new_uow, member_id, change.provider)
        return
    async with new_uow() as uow:
        await uow.connections.set_scopes(member_id, change.provider, scopes, change.event_time)
        await uow.commit()


async def _forget(new_uow: NewUnitOfWork, member_id: uuid.UUID, provider: Provider) -> None:
    async with new_uow() as uow:
        await uow.connections.delete(member_id, provider)
        await uow.imported.delete_of_member(member_id, provider)
        await uow.commit()


async def _store(
    new_uow: NewUnitOfWork,
    member_id: uuid.UUID,
    provider: Provider,
    fetched: Fetched,
    clock: Clock,
) -> bool:
    """Keeps what was fetched unless the member disconnected while it was read (False then);
    announces each activity the first time. A day read again loses the activities kept of it
    that the provider no longer has."""
    now = clock()
    async with new_uow() as uow:
        current = await uow.connections.get(member_id, provider)
        if current is None or current.state is not ConnectionState.CONNECTED:
            return False
        for data in fetched.activities:
            activity = ImportedActivity(member_id, provider, data, now)
            if await uow.imported.save(activity):
                announce_imported(uow, activity)
        for external_id in fetched.gone:
            await uow.imported.delete(provider, external_id, member_id)
        if fetched.day is not None and fetched.whole_day:
            await uow.imported.delete_between(
                member_id,
                provider,
                fetched.day.start_time,
                fetched.day.end_time,
                keep=[data.external_id for data in fetched.activities],
            )
        await uow.commit()
    return True


async def _fetch(
    new_uow: NewUnitOfWork,
    client: WearableProvider,
    member_id: uuid.UUID,
    change: ProviderChange,
    clock: Clock,
) -> Fetched:
    if change.pushed:  # Its data came with it (Garmin's push): no token to spend or refresh.
        return await client.fetch("", change)
    token = await access_token(new_uow, client, member_id, clock)
    try:
        return await client.fetch(token, change)
    except TokenRejected:
        token = await access_token(new_uow, client, member_id, clock, rejected=token)
        return await client.fetch(token, change)


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
