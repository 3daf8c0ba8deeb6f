"""PeriodicJob: rounds on a cadence under a leader lock, failures logged and survived, and a clean stop that lets a
pass in flight finish (or cancels it after the grace)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from backends.locks import LocalLeaderLock
from backends.periodic import PeriodicJob


class Recorder:
    """A job that records the `now` of each call, and can be told to fail or to take its time."""

    def __init__(self, *, duration_s: float = 0.0, fail_first: int = 0) -> None:
        self.calls: list[float] = []
        self.finished = 0
        self.duration_s = duration_s
        self.fail_first = fail_first
        self.running = 0
        self.most_at_once = 0

    async def __call__(self, now: float) -> list[float]:
        self.calls.append(now)
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if len(self.calls) <= self.fail_first:
                raise RuntimeError(f"pass {len(self.calls)} failed")
            await asyncio.sleep(self.duration_s)
            self.finished += 1
            return [now]
        finally:
            self.running -= 1


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s} s")
        await asyncio.sleep(0.01)


async def test_run_once_passes_the_clock_and_returns_what_the_job_did() -> None:
    job = Recorder()
    periodic = PeriodicJob("sla", job, interval_s=30, lock=LocalLeaderLock("sla"), clock=lambda: 1234.5)
    assert await periodic.run_once() == [1234.5]
    assert periodic.passes == 1


async def test_a_round_is_skipped_while_another_holder_has_the_lock() -> None:
    lock = LocalLeaderLock("sla")
    job = Recorder()
    periodic = PeriodicJob("sla", job, interval_s=30, lock=lock)
    async with lock.hold() as held:
        assert held
        assert await periodic.run_once() is None
    assert job.calls == [] and periodic.skipped == 1


async def test_rounds_repeat_every_interval_starting_one_interval_in() -> None:
    job = Recorder()
    periodic = PeriodicJob("sla", job, interval_s=0.2, lock=LocalLeaderLock("sla"))
    async with periodic.running():
        await asyncio.sleep(0.02)
        assert job.calls == []  # not at start: the first round is one interval in
        await wait_until(lambda: len(job.calls) >= 3)
    count = len(job.calls)
    await asyncio.sleep(0.5)
    assert len(job.calls) == count  # stopped for good


async def test_a_failing_round_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    job = Recorder(fail_first=2)
    periodic = PeriodicJob("sla", job, interval_s=0.02, lock=LocalLeaderLock("sla"))
    with caplog.at_level(logging.ERROR, logger="backends.periodic"):
        async with periodic.running():
            await wait_until(lambda: job.finished >= 1)
    assert periodic.failures == 2
    failures = [r for r in caplog.records if "periodic job sla failed" in r.getMessage()]
    assert len(failures) == 2 and failures[0].exc_info is not None


async def test_a_failing_lock_backend_is_survived_too(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenLock(LocalLeaderLock):
        def hold(self):  # type: ignore[no-untyped-def]
            raise ConnectionError("redis is down")

    job = Recorder()
    periodic = PeriodicJob("sla", job, interval_s=0.02, lock=BrokenLock("sla"))
    with caplog.at_level(logging.ERROR, logger="backends.periodic"):
        async with periodic.running():
            await wait_until(lambda: periodic.failures >= 2)
    assert job.calls == []


async def test_stopping_lets_a_pass_in_flight_finish() -> None:
    job = Recorder(duration_s=0.2)
    periodic = PeriodicJob("sla", job, interval_s=0.01, lock=LocalLeaderLock("sla"), stop_grace_s=5)
    async with periodic.running():
        await wait_until(lambda: job.running == 1)
    assert job.running == 0 and job.finished == len(job.calls) == 1


async def test_a_pass_that_outlives_the_grace_is_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    job = Recorder(duration_s=3600)
    periodic = PeriodicJob("sla", job, interval_s=0.01, lock=LocalLeaderLock("sla"), stop_grace_s=0.05)
    with caplog.at_level(logging.WARNING, logger="backends.periodic"):
        async with periodic.running():
            await wait_until(lambda: job.running == 1)
    assert job.running == 0 and job.finished == 0
    assert any("outlived its stop grace" in r.getMessage() for r in caplog.records)


async def test_two_replicas_sharing_a_lock_never_run_a_pass_at_once() -> None:
    lock = LocalLeaderLock("sla")
    job = Recorder(duration_s=0.03)
    replicas = [PeriodicJob("sla", job, interval_s=0.01, lock=lock) for _ in range(2)]
    async with replicas[0].running(), replicas[1].running():
        await wait_until(lambda: job.finished >= 5 and any(r.skipped for r in replicas))
    assert job.most_at_once == 1


async def test_a_slow_pass_is_followed_by_one_round_not_a_burst() -> None:
    job = Recorder(duration_s=0.5)
    periodic = PeriodicJob("sla", job, interval_s=0.02, lock=LocalLeaderLock("sla"))
    async with periodic.running():
        await wait_until(lambda: len(job.calls) >= 2)
        # The first pass ran 0.02–0.52 s, missing 25 rounds; the second started at once and runs for 0.5 s more.
        await asyncio.sleep(0.2)
        assert len(job.calls) == 2


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        PeriodicJob("sla", Recorder(), interval_s=0, lock=LocalLeaderLock("sla"))
