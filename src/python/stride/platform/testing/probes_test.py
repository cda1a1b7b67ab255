from collections.abc import Awaitable, Callable

import pytest

from stride.platform.testing.probes import eventually, eventually_equal


def answering(*answers: object) -> tuple[list[object], Callable[[], Awaitable[object]]]:
    """A probe giving `answers` in turn (the last one ever after), and the answers it gave."""
    given: list[object] = []

    async def rows_so_far() -> object:
        given.append(answers[min(len(given), len(answers) - 1)])
        return given[-1]

    return given, rows_so_far


async def test_eventually_returns_the_first_truthy_answer() -> None:
    given, probe = answering([], None, ["row"], ["row", "another"])

    assert await eventually(probe, interval=0) == ["row"]
    assert given == [[], None, ["row"]]


async def test_eventually_equal_waits_for_the_expected_answer() -> None:
    given, probe = answering(0, 1, 2, 3)

    await eventually_equal(probe, 2, interval=0)
    assert given == [0, 1, 2]


async def test_a_probe_out_of_time_is_named_with_its_last_answer() -> None:
    _, never = answering([])
    _, stuck = answering(1)

    with pytest.raises(AssertionError, match=r"rows_so_far did not answer a truthy .*: \[\]"):
        await eventually(never, within=0)
    with pytest.raises(AssertionError, match=r"rows_so_far did not answer 2 within 0 s.*: 1"):
        await eventually_equal(stuck, 2, within=0)
