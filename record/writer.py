"""The buffered writer between the emitters and the SQL record: `RecordWriter`.

`emit` only appends to an in-memory buffer and wakes one background task; it never awaits the database and never
raises into a conversation. The task writes the buffer's head in batches, in the order events were emitted. When
the database fails, it retries the same batch with exponential backoff (`retry_first_s` doubling to
`retry_max_s`), so nothing is lost or reordered while it is down; a retry after a failure whose outcome was unknown
stores nothing twice, since the events' ids were made at emit and the store skips ids it holds.

The buffer is bounded (`buffer_events`). When it is full — the database has been down long enough for that many
facts to pile up — **new events are dropped, never old ones**: what is kept is the gap-free beginning of the
outage, in order (a conversation's opening is kept, its later facts go), and a batch being retried is never
touched. The first drop logs an error naming the limit; when room comes back, one more says how many were dropped
and over which interval. `close()` stops taking events, writes what is left within a deadline, and logs how many
it could not.

Must never import web code; owns no table (`record.store` writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque

from backends.tasks import cancel_and_wait
from record.models import ServiceEvent
from record.store import ServiceRecord

log = logging.getLogger(__name__)

BUFFER_EVENTS = 100_000
BATCH_EVENTS = 500
# How long a part-filled batch waits for more: the events of many turns go in one transaction instead of one each
# (on SQLite every transaction briefly holds the one connection the turns also need; bench/record_overhead.py).
LINGER_S = 0.5
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
CLOSE_TIMEOUT_S = 10.0
# While closing, a failing database is tried again this often until the deadline.
CLOSING_RETRY_S = 0.25


class RecordWriter:
    """The app's `record.models.Recorder`. Call `emit` from the event loop's thread; `start()` before events can be
    stored, `close()` at shutdown (the app's record context does both)."""

    def __init__(
        self,
        store: ServiceRecord,
        *,
        buffer_events: int = BUFFER_EVENTS,
        batch_events: int = BATCH_EVENTS,
        linger_s: float = LINGER_S,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        if buffer_events < 1 or batch_events < 1:
            raise ValueError("the buffer and a batch hold at least one event")
        self._store = store
        self._capacity = buffer_events
        self._batch = batch_events
        self._linger_s = linger_s
        self._retry_first_s = retry_first_s
        self._retry_max_s = max(retry_max_s, retry_first_s)
        self._buffer: deque[ServiceEvent] = deque()
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()  # a flush is waiting: no lingering
        self._closing = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._accepted = 0  # events ever buffered
        self._stored = 0  # of those, events the store has taken
        self._dropping_since: float | None = None
        self._dropped_now = 0
        self.dropped = 0  # events refused because the buffer was full or the writer closed
        self.failures = 0  # consecutive failed writes (0: the database takes them)

    @property
    def pending(self) -> int:
        """Events buffered and not yet stored."""
        return len(self._buffer)

    # -- the emitters' side ------------------------------------------------------------------------------------------

    def emit(self, *events: ServiceEvent) -> None:
        """Buffers the events for writing, in order. Returns at once; never raises."""
        try:
            for event in events:
                self._take(event)
            self._wake.set()
        except Exception:  # a bug here must cost a fact, never a customer's turn
            log.exception("service record: an event could not be buffered")

    def _take(self, event: ServiceEvent) -> None:
        try:
            event.to_row()  # what cannot be stored is refused now, not retried for ever at the head of the buffer
        except Exception:
            log.exception("service record: dropped a %s event that cannot be stored", getattr(event, "kind", "?"))
            self.dropped += 1
            return
        if self._closed:
            self.dropped += 1
            log.error("service record: a %s event came after the writer closed and is lost", event.kind.value)
            return
        if len(self._buffer) >= self._capacity:
            if self._dropping_since is None:
                self._dropping_since = time.time()
                log.error(
                    "service record: the buffer is full (%d events, FD_RECORD_BUFFER_EVENTS) because the database "
                    "is not taking them; new events are dropped until it does (the oldest are kept, in order)",
                    self._capacity,
                )
            self._dropped_now += 1
            self.dropped += 1
            return
        self._buffer.append(event)
        self._accepted += 1

    # -- lifecycle ---------------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="service-record-writer")

    async def flush(self) -> None:
        """Returns once every event emitted before the call is stored (however long the database takes)."""
        target = self._accepted
        if self._task is None:
            raise RuntimeError("the record writer was never started")
        self._hurry.set()
        self._wake.set()
        async with self._progress:
            await self._progress.wait_for(lambda: self._stored >= target)

    async def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Stops taking events and writes what is buffered, for at most `timeout_s`; logs what could not be."""
        self._closed = True
        self._closing.set()
        if self._task is None:
            if self._buffer:
                log.error("service record: %d events were never written (the writer never ran)", len(self._buffer))
            return
        try:
            async with asyncio.timeout(timeout_s):
                await self.flush()
        except TimeoutError:
            log.error("service record: %d events could not be written before shutdown and are lost", len(self._buffer))
        await cancel_and_wait(self._task)

    # -- the background task -----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self._retry_first_s
        while True:
            self._wake.clear()
            if not self._buffer:
                self._hurry.clear()
                await self._wake.wait()
                continue
            if len(self._buffer) < self._batch and self._linger_s > 0 and not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), self._linger_s)
            batch = list(itertools.islice(self._buffer, self._batch))
            try:
                await self._store.append(batch)
            except Exception as exc:
                self.failures += 1
                log.warning(
                    "service record: writing %d events failed (%s: %s); %d waiting, retrying in %.1f s",
                    len(batch),
                    type(exc).__name__,
                    exc,
                    len(self._buffer),
                    delay,
                    exc_info=self.failures == 1,
                )
                await self._back_off(delay)
                delay = min(delay * 2, self._retry_max_s)
                continue
            if self.failures:
                log.warning("service record: the database takes events again after %d failed writes", self.failures)
            self.failures = 0
            delay = self._retry_first_s
            for _ in batch:
                self._buffer.popleft()  # emit only appends: the head is still this batch
            self._stored += len(batch)
            self._room_again()
            async with self._progress:
                self._progress.notify_all()

    async def _back_off(self, delay: float) -> None:
        if self._closing.is_set():
            await asyncio.sleep(min(delay, CLOSING_RETRY_S))
            return
        with contextlib.suppress(TimeoutError):
            # A shutdown cuts the wait short: what is left gets its last tries within the close deadline.
            await asyncio.wait_for(self._closing.wait(), delay)

    def _room_again(self) -> None:
        if self._dropping_since is None or len(self._buffer) >= self._capacity:
            return
        log.error(
            "service record: %d events were dropped while the buffer was full (from %s for %.0f s)",
            self._dropped_now,
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._dropping_since)),
            time.time() - self._dropping_since,
        )
        self._dropping_since = None
        self._dropped_now = 0


__all__ = ["BATCH_EVENTS", "BUFFER_EVENTS", "RecordWriter"]
