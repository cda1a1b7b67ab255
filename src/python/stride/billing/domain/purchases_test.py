import random
import uuid
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.billing.domain.plans import Plan, PlanKind
from stride.billing.domain.purchases import (
    PurchaseState,
    plan_total,
    purchase_id,
    settle,
    validate_purchase_request,
)
from stride.platform.errors import InvalidArgument

reports = st.lists(st.sampled_from(PurchaseState), min_size=1, max_size=8)


@given(reports, st.randoms())
def test_reports_in_any_order_end_in_the_same_state(
    delivered: list[PurchaseState], shuffler: random.Random
) -> None:
    shuffled = list(delivered)
    shuffler.shuffle(shuffled)
    start = PurchaseState.PROCESSING
    assert reduce(settle, delivered, start) == reduce(settle, shuffled, start)


@given(reports)
def test_a_report_delivered_twice_changes_nothing_more(delivered: list[PurchaseState]) -> None:
    start = PurchaseState.PROCESSING
    assert reduce(settle, delivered * 2, start) == reduce(settle, delivered, start)


def test_money_taken_is_final() -> None:
    for reported in PurchaseState:
        assert settle(PurchaseState.SUCCEEDED, reported) is PurchaseState.SUCCEEDED
    # A failed attempt may still be completed with another card.
    assert settle(PurchaseState.FAILED, PurchaseState.SUCCEEDED) is PurchaseState.SUCCEEDED


def test_a_request_id_names_one_purchase_per_member() -> None:
    member, other = uuid.uuid4(), uuid.uuid4()
    assert purchase_id(member, "r-1") == purchase_id(member, "r-1")
    assert purchase_id(member, "r-1") != purchase_id(other, "r-1")


def test_a_pack_costs_its_price_and_vat_in_minor_units() -> None:
    pack = Plan(
        uuid.uuid4(), "olaya", "Ten", "عشر", PlanKind.CLASS_PACK, "SAR", 19_999, 1500, 10, 30
    )
    assert plan_total(pack) == 19_999 + 3000  # 2999.85 halalas of VAT round to 3000.


def test_only_tokens_and_a_request_id_are_accepted() -> None:
    validate_purchase_request("pm_1Abc", "r-1")
    with pytest.raises(InvalidArgument) as refused:
        validate_purchase_request("4242424242424242", "x" * 129)
    assert [v.field for v in refused.value.violations] == ["payment_method", "request_id"]
