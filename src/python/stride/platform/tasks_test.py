import asyncio

import pytest

from stride.platform.tasks import Periodic, cancel_and_wait


async def test_a_task_that_swallows_one_cancellation_is_still_stopped() -> None:
    swallowed = 0
    waiting = asyncio.Event()

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                waiting.set()
                await asyncio.Event().wait()  # Until cancelled.
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # Like a cancel turned into a timeout and retried.

    task = asyncio.create_task(stubborn())
    await waiting.wait()  # Inside its loop, where a cancellation lands in the `try`.
    await asyncio.wait_for(cancel_and_wait(task, retry_seconds=0.05), timeout=5)
    assert task.cancelled()
    assert swallowed == 1


async def test_a_task_that_failed_reports_its_error() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(broken())
    await asyncio.wait({task})  # It failed before anyone stops it.
    with pytest.raises(RuntimeError, match="boom"):
        await cancel_and_wait(task)


async def test_a_periodic_job_keeps_running_after_a_failure() -> None:
    runs: list[int] = []
    third_run = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 3:
            third_run.set()
        if len(runs) == 1:
            raise RuntimeError("first run fails")

    periodic = Periodic("test", 0.01, job)
    await periodic.start()
    await asyncio.wait_for(third_run.wait(), timeout=5)
    await periodic.stop()
    # Stopped, not merely asked to: nothing is left running that could call the job again.
    assert "periodic-test" not in {task.get_name() for task in asyncio.all_tasks()}
