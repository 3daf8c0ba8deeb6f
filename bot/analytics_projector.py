"""The analytics projector's loop: a pass every `FD_ANALYTICS_PROJECT_S` seconds, on one replica at a time.

Owns `analytics_projector_context`, the `cleanup_ctx` that `setup_services` adds, so every replica runs the loop and
each pass takes the leader lock `backends.locks.leader_lock` picks (Redis, else PostgreSQL's advisory lock, else
in-process for SQLite); a replica that finds it held skips the round. The lock only saves work: a pass is idempotent,
so two overlapping ones write the same rows. Must never compute a fact itself (`analytics.projector` does).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from backends.locks import leader_lock
from backends.periodic import PeriodicJob
from bot.keys import ANALYTICS_PROJECTOR, DATABASE, INTAKE, REDIS, SETTINGS

log = logging.getLogger(__name__)

# The leader lock's name: the Redis key `fd:lock:analytics-projector`, or the advisory key of its schema and name.
ANALYTICS_LOCK = "analytics-projector"


async def analytics_projector_context(app: web.Application) -> AsyncIterator[None]:
    """Runs the loop for the app's lifetime (after storage); on cleanup a pass in flight finishes first."""
    config = app[SETTINGS].analytics
    if config.project_s <= 0:
        log.info("analytics projector off on this replica (FD_ANALYTICS_PROJECT_S=0)")
        yield
        return
    projector = config.projector(app[DATABASE], app[INTAKE].calendar)
    lock = leader_lock(ANALYTICS_LOCK, db=app[DATABASE], redis=app.get(REDIS))
    job = PeriodicJob("analytics-projector", projector.run_pass, interval_s=config.project_s, lock=lock)
    app[ANALYTICS_PROJECTOR] = job
    async with job.running():
        yield
