"""cancel_and_wait stops a task whose first cancellation was swallowed (as asyncio.wait_for does on Python 3.11
when a redis-py write completes in the same loop turn), and reports what the tasks ended with."""

from __future__ import annotations

import asyncio

import pytest

from backends.tasks import cancel_and_wait


async def test_a_task_that_swallows_its_first_cancel_is_still_stopped() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 1:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait(task), timeout=5)
    assert task.cancelled() and swallowed == 2


async def test_an_error_a_task_ended_with_is_raised_and_done_tasks_are_fine() -> None:
    async def fails() -> None:
        raise ValueError("broken")

    failed = asyncio.create_task(fails())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    with pytest.raises(ValueError, match="broken"):
        await cancel_and_wait(finished, failed)


async def test_cancelling_the_caller_still_stops_the_tasks_first() -> None:
    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.shield(asyncio.sleep(0.1))  # cleanup that outlives the caller's cancel

    task = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    stopper = asyncio.create_task(cancel_and_wait(task))
    await asyncio.sleep(0.01)
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert task.done()
