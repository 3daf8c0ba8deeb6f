"""A job every N seconds on one replica at a time: the loop behind the SLA scheduler.

Owns `PeriodicJob`, which calls `job(now)` every `interval_s` while holding a `LeaderLock`, logs and outlives the
job's failures, and stops cleanly: `running()` is the body of an aiohttp `cleanup_ctx`, and on exit a pass in flight
gets `stop_grace_s` to finish before it is cancelled. Must never know what the job does: it gets the time and
returns what it did, for the log (and for tests, through `run_once`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from backends.locks import LeaderLock
from backends.tasks import cancel_and_wait

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long `running()`'s exit lets a pass in flight finish before it cancels it.
STOP_GRACE_S = 5.0


class PeriodicJob(Generic[T]):
    """`job(now)` (`now`: epoch seconds from `clock`) every `interval_s` seconds, the first one interval after the
    start, when this replica holds `lock`; a replica that finds it held skips that round.

    Rounds keep their cadence (the next one is due `interval_s` after the previous one started) without piling up:
    a pass that outruns the interval is followed by the next at once, never by a burst of missed ones.
    """

    def __init__(
        self,
        name: str,
        job: Callable[[float], Awaitable[Sequence[T]]],
        *,
        interval_s: float,
        lock: LeaderLock,
        clock: Callable[[], float] = time.time,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.name = name
        self.interval_s = interval_s
        self._job = job
        self._lock = lock
        self._clock = clock
        self._stop_grace_s = stop_grace_s
        self._stopping = asyncio.Event()
        # Rounds run / skipped because another replica held the lock / failed: for the log and for tests.
        self.passes = 0
        self.skipped = 0
        self.failures = 0

    async def run_once(self) -> Sequence[T] | None:
        """One round now: what the job returned, or None when another holder had the lock. The job's errors (and the
        lock backend's) propagate."""
        async with self._lock.hold() as held:
            if not held:
                self.skipped += 1
                return None
            result = await self._job(self._clock())
            self.passes += 1
            return result

    async def run(self) -> None:
        """Rounds until `stop()`; an error in one round is logged and the next round runs as usual."""
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.interval_s
        while not await self._stopped_by(next_at):
            next_at = max(next_at + self.interval_s, loop.time())
            try:
                result = await self.run_once()
            except Exception:
                self.failures += 1
                log.exception("periodic job %s failed; the next round runs in %.0f s", self.name, self.interval_s)
                continue
            if result is None:
                log.debug("periodic job %s skipped: another replica holds its lock", self.name)
            elif result:
                log.info("periodic job %s: %d results", self.name, len(result))

    async def _stopped_by(self, deadline: float) -> bool:
        """Waits until the loop time `deadline`; True if stop() came first."""
        delay = deadline - asyncio.get_running_loop().time()
        if self._stopping.is_set() or delay <= 0:
            return self._stopping.is_set()
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except TimeoutError:
            return False
        return True

    def stop(self) -> None:
        """Ends `run()` after the pass in flight, if any (at once when it is between rounds)."""
        self._stopping.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[PeriodicJob[T]]:
        """Runs the rounds in a task for the block; on exit, stops them: a pass in flight gets `stop_grace_s` seconds
        to finish (its transaction commits, its events go out), then it is cancelled."""
        self._stopping.clear()
        task = asyncio.create_task(self.run(), name=f"periodic-{self.name}")
        try:
            yield self
        finally:
            self.stop()
            try:
                done, _ = await asyncio.wait({task}, timeout=self._stop_grace_s)
                if not done:
                    log.warning(
                        "periodic job %s outlived its stop grace (%.1f s); cancelling it", self.name, self._stop_grace_s
                    )
            finally:
                # Also when the app's cleanup is itself cancelled: the task never outlives the block.
                await cancel_and_wait(task)
