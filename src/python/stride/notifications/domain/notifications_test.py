import uuid
from datetime import UTC, datetime

import pytest

from stride.notifications.domain.notifications import (
    MAX_TOKEN_LENGTH,
    RETRY_DELAYS,
    Delivery,
    DeliveryState,
    Platform,
    notification_id,
    register_device,
    retried,
)
from stride.platform.errors import InvalidArgument

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def test_an_event_is_one_notification_per_user() -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    assert notification_id("event-1", user) == notification_id("event-1", user)
    assert notification_id("event-1", user) != notification_id("event-1", other)
    assert notification_id("event-1", user) != notification_id("event-2", user)


def test_a_device_is_its_token_whoever_registers_it() -> None:
    first = register_device(uuid.uuid4(), "fcm-token-1", Platform.ANDROID, NOW)
    handed_on = register_device(uuid.uuid4(), "fcm-token-1", Platform.ANDROID, NOW)
    assert first.id == handed_on.id
    with pytest.raises(InvalidArgument) as refused:
        register_device(first.user_id, "has a space", None, NOW)
    assert [v.field for v in refused.value.violations] == ["device.token", "device.platform"]


def test_a_push_the_provider_did_not_take_is_retried_then_failed() -> None:
    delivery = Delivery(uuid.uuid4(), uuid.uuid4(), "t", DeliveryState.SENDING, 0, NOW)
    for attempt, delay in enumerate(RETRY_DELAYS, start=1):
        delivery = retried(delivery, NOW)
        assert (delivery.state, delivery.attempts, delivery.next_attempt) == (
            DeliveryState.PENDING,
            attempt,
            NOW + delay,
        )
    assert retried(delivery, NOW).state is DeliveryState.FAILED


def test_tokens_are_short_ascii_without_spaces() -> None:
    for token in ("x" * (MAX_TOKEN_LENGTH + 1), "تطبيق", "has spaces"):
        with pytest.raises(InvalidArgument):
            register_device(uuid.uuid4(), token, Platform.ANDROID, NOW)
    assert register_device(uuid.uuid4(), "a" * MAX_TOKEN_LENGTH, Platform.IOS, NOW)
