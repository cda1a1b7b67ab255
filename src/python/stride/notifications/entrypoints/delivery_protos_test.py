import uuid

import pytest

from stride.notifications.adapters.delivery_log_repository import DeliveryFilter
from stride.notifications.domain.notifications import DeliveryState
from stride.notifications.entrypoints.delivery_protos import delivery_filter, delivery_name
from stride.platform.errors import InvalidArgument

USER, NOTIFICATION = uuid.uuid4(), uuid.uuid4()


def test_wildcards_read_across_users_and_notifications() -> None:
    assert delivery_filter("users/-/notifications/-", "state = STATE_FAILED") == DeliveryFilter(
        state=DeliveryState.FAILED
    )
    assert delivery_filter("users/-/notifications/-", ' state="STATE_SENT" ') == DeliveryFilter(
        state=DeliveryState.SENT
    )
    assert delivery_filter(f"users/{USER}/notifications/{NOTIFICATION}", "") == DeliveryFilter(
        USER, NOTIFICATION
    )


@pytest.mark.parametrize(
    ("parent", "filter_", "fields"),
    [
        ("users/-/notifications/-", "kind = x", ["filter"]),
        ("users/-/notifications/-", "state = STATE_LOST", ["filter"]),
        ("users/-/notifications/-", "state != STATE_SENT", ["filter"]),
        ("users/-/notifications/-", "state = STATE_SENT AND state = STATE_FAILED", ["filter"]),
        (f"users/{'-' * 36}/notifications/-", "", ["parent"]),
        ("users/-", "nonsense", ["parent", "filter"]),
    ],
)
def test_a_bad_parent_or_filter_names_the_field(
    parent: str, filter_: str, fields: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        delivery_filter(parent, filter_)
    assert [violation.field for violation in refused.value.violations] == fields


def test_a_delivery_is_a_device_an_email_or_a_text() -> None:
    device = uuid.uuid4()
    base = f"users/{USER}/notifications/{NOTIFICATION}/deliveries"
    assert delivery_name(f"{base}/{str(device).upper()}") == (USER, NOTIFICATION, str(device))
    assert delivery_name(f"{base}/sms")[2] == "sms"
    with pytest.raises(InvalidArgument):
        delivery_name(f"{base}/fax")
