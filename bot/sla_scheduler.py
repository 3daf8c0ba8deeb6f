"""The SLA scheduler: the SLA watcher's pass every `FD_INTAKE_SLA_CHECK_S` seconds, on one replica at a time.

Owns `sla_scheduler_context`, the `cleanup_ctx` that `setup_services` adds, so both programs (and every replica of
each) run the loop; each pass takes the leader lock `backends.locks.leader_lock` picks (Redis when `FD_REDIS_URL` is
set, else PostgreSQL's advisory lock, else in-process for SQLite) and a replica that finds it held skips the round.
The lock only saves work: the watcher's marks make each at-risk and breach fire once even if two passes overlap, and
a restarted replica never fires again what fired before. Must never decide what fires (`intake.sla_watch` does) nor
tell anyone itself: staff alerts go to the alert store, which every program can write (a customers-only replica may
win the lock), and customers' apologies through the ticket store's listeners (`bot.ticket_notices`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from alerts.store import AlertStore
from backends.locks import leader_lock
from backends.periodic import PeriodicJob
from bot.keys import DATABASE, REDIS, SETTINGS, SLA_SCHEDULER, TICKETS
from intake.sla_watch import BreachActions, SlaWatcher

log = logging.getLogger(__name__)

# The leader lock's name: the Redis key `fd:lock:sla-watcher`, or the advisory key of "<schema>/sla-watcher".
SLA_LOCK = "sla-watcher"


async def sla_scheduler_context(app: web.Application) -> AsyncIterator[None]:
    """Runs the loop for the app's lifetime (after storage and the bus); on cleanup a pass in flight finishes first."""
    config = app[SETTINGS].sla
    if config.check_s <= 0:
        log.info("SLA watcher off on this replica (FD_INTAKE_SLA_CHECK_S=0)")
        yield
        return
    watcher = SlaWatcher(
        app[TICKETS], AlertStore(app[DATABASE]), actions=BreachActions(reassign_to_lead=config.breach_reassign)
    )
    lock = leader_lock(SLA_LOCK, db=app[DATABASE], redis=app.get(REDIS))
    job = PeriodicJob("sla-watcher", watcher.run_pass, interval_s=config.check_s, lock=lock)
    app[SLA_SCHEDULER] = job
    async with job.running():
        yield
