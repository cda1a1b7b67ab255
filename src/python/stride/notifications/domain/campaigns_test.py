import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.notifications.domain.campaigns import (
    Audience,
    Campaign,
    CampaignState,
    Content,
    Variant,
    assign_variant,
    cancel,
    new_campaign,
)
from stride.notifications.domain.notifications import Channel
from stride.platform.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
CONTENT = {"en": Content("Ten percent off", "This week only."), "ar": Content("خصم", "هذا الأسبوع")}


def variants(*weights: int) -> list[Variant]:
    return [Variant(chr(ord("a") + i), weight, CONTENT) for i, weight in enumerate(weights)]


def campaign(*weights: int, per_second: int = 100, send_time: datetime | None = None) -> Campaign:
    return new_campaign(
        "Spring offer", Audience(), variants(*weights), send_time, per_second, "users/x", NOW
    )


def test_a_user_s_variant_is_the_same_in_another_process() -> None:
    """Not Python's per-process salted hash: replicas and restarts agree."""
    found = campaign(50, 50)
    users = [uuid.uuid4() for _ in range(50)]
    script = (
        "import sys, uuid\n"
        "from stride.notifications.domain.campaigns_test import variants\n"
        "from stride.notifications.domain.campaigns import assign_variant\n"
        "campaign, *users = sys.argv[1:]\n"
        "print(''.join(assign_variant(uuid.UUID(campaign), uuid.UUID(u), variants(50, 50)).key"
        " for u in users))\n"
    )
    elsewhere = subprocess.run(
        [sys.executable, "-c", script, str(found.id), *map(str, users)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123", "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert elsewhere.stdout.strip() == "".join(found.variant_for(user).key for user in users)


@given(st.uuids(), st.uuids(), st.integers(1, 99))
def test_every_user_gets_one_of_the_campaign_s_variants(
    campaign_id: uuid.UUID, user: uuid.UUID, weight: int
) -> None:
    split = variants(weight, 100 - weight)
    assert assign_variant(campaign_id, user, split) in split


def test_the_audience_splits_by_the_variants_weights() -> None:
    found = campaign(20, 30, 50)
    counts = Counter(found.variant_for(uuid.uuid4()).key for _ in range(20_000))
    assert {key: round(n / 20_000, 2) for key, n in counts.items()} == pytest.approx(
        {"a": 0.2, "b": 0.3, "c": 0.5}, abs=0.02
    )


def test_another_campaign_splits_the_same_users_afresh() -> None:
    users = [uuid.uuid4() for _ in range(200)]
    first, second = uuid.uuid4(), uuid.uuid4()
    split = [assign_variant(first, user, variants(50, 50)).key for user in users]
    resplit = [assign_variant(second, user, variants(50, 50)).key for user in users]
    assert split != resplit


def test_the_pace_spreads_recipients_over_time() -> None:
    found = campaign(100, per_second=4, send_time=NOW + timedelta(hours=1))
    assert [found.push_time(n) - found.send_time for n in (0, 1, 4, 10)] == [
        timedelta(0),
        timedelta(seconds=0.25),
        timedelta(seconds=1),
        timedelta(seconds=2.5),
    ]


def test_without_a_send_time_a_campaign_goes_now() -> None:
    assert campaign(100).send_time == NOW
    assert campaign(100).state is CampaignState.SCHEDULED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"display_name": " "}, "campaign.display_name"),
        ({"variants": []}, "campaign.variants"),
        ({"variants": variants(50, 40)}, "campaign.variants.weight"),
        ({"variants": [Variant("A", 100, CONTENT)]}, "campaign.variants.key"),
        ({"variants": [Variant("a", 100, {"en": CONTENT["en"]})]}, "campaign.variants[0].messages"),
        (
            {"variants": [Variant("a", 100, {**CONTENT, "ar": Content("x" * 121, "b")})]},
            "campaign.variants[0].messages.title",
        ),
        ({"audience": Audience(languages=frozenset({"fr"}))}, "campaign.audience.language_codes"),
        (
            {"audience": Audience(time_zones=frozenset({"Mars/Base"}))},
            "campaign.audience.time_zones",
        ),
        ({"send_time": NOW - timedelta(hours=1)}, "campaign.send_time"),
        ({"per_second": 0}, "campaign.per_second"),
        ({"channels": frozenset({Channel.SMS})}, "campaign.channels"),  # Marketing: never.
        ({"channels": frozenset()}, "campaign.channels"),
    ],
)
def test_a_bad_campaign_names_the_field(changes: dict[str, object], field: str) -> None:
    given_ = {
        "display_name": "Spring offer",
        "audience": Audience(),
        "variants": variants(50, 50),
        "send_time": None,
        "per_second": 100,
        "creator": "users/x",
        "now": NOW,
        **changes,
    }
    with pytest.raises(InvalidArgument) as raised:
        new_campaign(**given_)  # type: ignore[arg-type]
    assert [violation.field for violation in raised.value.violations] == [field]


def test_a_finished_campaign_cannot_be_cancelled_but_a_running_one_can() -> None:
    planned = campaign(100).planning(NOW).fully_planned()
    assert cancel(planned, pending=3).state is CampaignState.CANCELLED
    assert cancel(cancel(planned, 3), 0).state is CampaignState.CANCELLED
    with pytest.raises(FailedPrecondition):
        cancel(planned, pending=0)
