"""Stopping background tasks so that they really stop.

Owns `cancel_and_wait`, which every owner of a long-running task uses at shutdown instead of cancel-then-await.
"""

from __future__ import annotations

import asyncio
from typing import Any

# How long a cancelled task gets to finish before it is cancelled again (see `cancel_and_wait`).
RECANCEL_AFTER_S = 0.5


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and return once every one has finished, re-raising the first error one of them ended with.

    One cancel() is not always enough on Python 3.11: `asyncio.wait_for`, which redis-py wraps around every command
    it writes (socket_timeout defaults to 5 s), returns the result and drops the CancelledError when the write
    finishes in the same loop turn (CPython gh-86296, fixed in 3.12). A loop whose cancel was lost runs on, and an
    owner awaiting it after a single cancel() waits forever; so the cancel is repeated until the task ends. If the
    caller is cancelled meanwhile, the tasks are still stopped before that cancellation propagates.
    """
    pending = {task for task in tasks if not task.done()}
    interrupted = False
    while pending:
        for task in pending:
            task.cancel()
        try:
            _, pending = await asyncio.wait(pending, timeout=RECANCEL_AFTER_S)
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError
    # Every error is fetched, so none is logged later as "never retrieved".
    errors = [exc for task in tasks if not task.cancelled() and (exc := task.exception()) is not None]
    if errors:
        raise errors[0]
