"""Provider changes on the platform's JetStream work queue: what a webhook enqueues and the
import worker takes, as JSON (ids, times and a pushed summary: never a token)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from nats.errors import Error as NatsError

from stride.activity.domain.providers import ChangeKind, Provider, ProviderChange
from stride.platform.errors import Unavailable
from stride.platform.events.consumer import UnprocessableEvent
from stride.platform.events.work_queue import WorkQueuePublisher

QUEUE_NAME = "activity_imports"


def encode_change(change: ProviderChange) -> bytes:
    return json.dumps(
        {
            "provider": change.provider.value,
            "account_id": change.account_id,
            "kind": change.kind.value,
            "object_id": change.object_id,
            "event_time": int(change.event_time.timestamp()),
            "pushed": change.pushed,
        }
    ).encode()


def decode_change(job: bytes) -> ProviderChange:
    try:
        document = json.loads(job)
        return ProviderChange(
            Provider(document["provider"]),
            str(document["account_id"]),
            ChangeKind(document["kind"]),
            str(document["object_id"]),
            datetime.fromtimestamp(int(document["event_time"]), UTC),
            str(document.get("pushed", "")),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise UnprocessableEvent(f"not a provider change: {type(error).__name__}") from None


class JetStreamChangeQueue:
    def __init__(self, publisher: WorkQueuePublisher) -> None:
        self._publisher = publisher

    async def enqueue(self, change: ProviderChange) -> None:
        try:
            await self._publisher.enqueue(encode_change(change), change.job_id)
        except (NatsError, TimeoutError, OSError) as error:
            # The provider sends it again on an error answer.
            raise Unavailable("IMPORT_QUEUE_UNAVAILABLE", "webhook.unavailable") from error
