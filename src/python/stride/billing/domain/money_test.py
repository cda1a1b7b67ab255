from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stride.billing.domain.money import (
    line,
    plan_change_quote,
    prorated,
    round_half_up,
    vat,
)

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)


def test_vat_in_halalas() -> None:
    assert vat(19_900, 1500) == 2985  # SAR 199.00 at 15 %.
    assert vat(1, 1500) == 0  # 0.15 halala rounds to nothing…
    assert vat(4, 1500) == 1  # …and 0.6 to one.
    assert vat(10_000, 500) == 500  # AED 100.00 at 5 %.


def test_halves_round_away_from_zero() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(249, 100)) == 2


def test_a_mid_month_switch() -> None:
    quote = plan_change_quote("SAR", 1500, 30_000, 60_000, START, END, START + timedelta(days=15.5))
    assert [item.net_minor for item in quote.lines] == [-15_000, 30_000]
    assert quote.total_minor == 15_000 + vat(15_000, 1500)


def test_changes_outside_the_period_are_refused() -> None:
    with pytest.raises(ValueError, match="inside"):
        prorated(100, END + timedelta(days=1), START, END)


prices = st.integers(min_value=0, max_value=10_000_000)
rates = st.sampled_from([0, 500, 1500])
moments = st.integers(min_value=0, max_value=int((END - START).total_seconds()))


@given(old=prices, new=prices, rate=rates, offset=moments)
def test_lines_always_add_up_to_the_total(old: int, new: int, rate: int, offset: int) -> None:
    quote = plan_change_quote("SAR", rate, old, new, START, END, START + timedelta(seconds=offset))
    assert quote.total_minor == sum(item.total_minor for item in quote.lines)
    assert quote.net_minor + quote.vat_minor == quote.total_minor
    for item in quote.lines:
        exact = Fraction(item.net_minor * rate, 10_000)
        assert abs(item.vat_minor - exact) <= Fraction(1, 2)


@given(amount=prices, offset=moments)
def test_proration_is_within_half_a_minor_unit_and_bounded(amount: int, offset: int) -> None:
    used_from = START + timedelta(seconds=offset)
    part = prorated(amount, used_from, START, END)
    exact = Fraction(amount) * Fraction(int((END - used_from).total_seconds()), 31 * 86_400)
    assert abs(part - exact) <= Fraction(1, 2)
    assert 0 <= part <= amount


@given(net=st.integers(min_value=-10_000_000, max_value=10_000_000), rate=rates)
def test_a_refund_line_mirrors_its_charge(net: int, rate: int) -> None:
    assert line("x", -net, rate).vat_minor == -line("x", net, rate).vat_minor
