from datetime import timedelta

import pytest

from stride.platform.clock import utcnow
from stride.platform.testing.clocks import MovableClock


def test_a_movable_clock_runs_with_the_real_time_plus_what_it_was_advanced() -> None:
    clock = MovableClock()
    before = utcnow()
    unmoved = clock()
    clock.advance(timedelta(hours=1))
    clock.advance(timedelta(minutes=30))
    moved = clock()
    after = utcnow()

    assert before <= unmoved <= after
    assert (
        before + timedelta(hours=1, minutes=30) <= moved <= after + timedelta(hours=1, minutes=30)
    )


def test_a_movable_clock_never_goes_back() -> None:
    with pytest.raises(ValueError, match="forward"):
        MovableClock().advance(timedelta(seconds=-1))
