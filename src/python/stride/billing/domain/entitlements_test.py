import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.billing.domain.entitlements import (
    Entitlement,
    Kind,
    choose_entitlement,
    validate_grant,
)
from stride.platform.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 12, 1, tzinfo=UTC)
MEMBER = uuid.uuid4()
CLASS = NOW + timedelta(days=3)


def pack(credits: int, expires_in_days: int, studio: str = "") -> Entitlement:
    granted = validate_grant(
        MEMBER, Kind.CLASS_PACK, studio, credits, NOW, NOW + timedelta(days=expires_in_days)
    )
    return granted


def test_a_membership_is_used_before_any_credit() -> None:
    membership = validate_grant(MEMBER, Kind.MEMBERSHIP, "", 0, NOW, NOW + timedelta(days=30))
    assert choose_entitlement([pack(5, 10), membership], "studios/olaya", CLASS) == membership


def test_the_pack_expiring_first_is_used_first() -> None:
    soon, later = pack(5, 5), pack(5, 50)
    assert choose_entitlement([later, soon], "studios/olaya", CLASS) == soon


def test_nothing_usable_is_a_clear_refusal() -> None:
    other_studio = pack(5, 10, "studios/jeddah")
    expired_by_then = pack(5, 2)
    with pytest.raises(FailedPrecondition, match="NO_ENTITLEMENT"):
        choose_entitlement([other_studio, expired_by_then], "studios/olaya", CLASS)


def test_grants_are_validated() -> None:
    with pytest.raises(InvalidArgument):
        validate_grant(MEMBER, Kind.CLASS_PACK, "Olaya", 0, NOW, NOW)


@given(packs=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 60)), min_size=0, max_size=6))
def test_the_chosen_pack_has_credit_and_covers_the_class(packs: list[tuple[int, int]]) -> None:
    entitlements = [
        Entitlement(
            uuid.uuid4(), MEMBER, Kind.CLASS_PACK, "", 5, left, NOW, NOW + timedelta(days=d)
        )
        for left, d in packs
    ]
    try:
        chosen = choose_entitlement(entitlements, "studios/olaya", CLASS)
    except FailedPrecondition:
        assert not any(
            e.credits_remaining and e.covers("studios/olaya", CLASS) for e in entitlements
        )
        return
    assert chosen.credits_remaining > 0
    assert chosen.covers("studios/olaya", CLASS)
    usable = [e for e in entitlements if e.credits_remaining and e.covers("studios/olaya", CLASS)]
    assert chosen.expire == min(e.expire for e in usable)
