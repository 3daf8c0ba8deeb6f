"""The reconcile job: handoff's live state made whole again after a Redis outage, on one replica at a time.

Every `FD_HANDOFF_RECONCILE_S` seconds, under the leader lock `handoff-live-state` (`backends.locks.leader_lock`:
Redis when configured, so no replica acts while Redis is away), one replica: rebuilds the queues, assignments and
owning agents' presence from the service record when the live state lost them (`HandoffStore.is_seeded` is False:
Redis came back empty, or this is a fresh process on the in-memory store), then queues the handoffs customers asked
for while it was away (`handoff.pending`), then offers waiting work to free agents. Both steps are safe to repeat
(a conversation the live state already holds is left alone; a kept request already queued is a no-op), so a lease
that lapses mid-pass costs nothing. Must never decide who owns what: `handoff.recovery` and `HandoffService` do.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from backends.locks import leader_lock
from backends.periodic import PeriodicJob
from bot.handoff_bridge import AGENT_PROFILES, HANDOFF, PENDING_HANDOFFS
from bot.keys import DATABASE, REDIS, SERVICE_RECORD, SETTINGS
from handoff.agents import AgentProfile
from handoff.pending import PendingHandoffs, queue_pending
from handoff.profiles import AgentProfileStore
from handoff.recovery import rebuild
from handoff.service import HandoffService
from record import ServiceRecord

log = logging.getLogger(__name__)

# The leader lock's name: the Redis key `fd:lock:handoff-live-state`, or its advisory key.
LIVE_STATE_LOCK = "handoff-live-state"
LIVE_STATE_JOB = web.AppKey("live_state_job", PeriodicJob[str])


class LiveStateReconciler:
    """One reconcile pass (`run_pass(now)`): the conversations it rebuilt or queued, by id."""

    def __init__(
        self, service: HandoffService, pending: PendingHandoffs, record: ServiceRecord, profiles: AgentProfileStore
    ) -> None:
        self._service = service
        self._pending = pending
        self._record = record
        self._profiles = profiles

    async def _profile_of(self, agent_id: str) -> AgentProfile:
        return await self._profiles.profile_for(agent_id, agent_id)

    async def run_pass(self, now: float) -> list[str]:
        store = self._service.store
        touched: list[str] = []
        if not await store.is_seeded():
            rebuilt = await rebuild(store, self._record, self._service.settings, self._profile_of, now)
            await store.mark_seeded()
            touched += [owner.conversation_id for owner in rebuilt]
        touched += [conversation_id for conversation_id, _ in await queue_pending(self._service, self._pending)]
        if touched and self._service.settings.assign_on_enqueue:
            await self._service.auto_assign()
        return touched


async def live_state_context(app: web.Application) -> AsyncIterator[None]:
    """Runs the reconcile loop for the app's lifetime (after the handoff runtime)."""
    reconciler = LiveStateReconciler(app[HANDOFF], app[PENDING_HANDOFFS], app[SERVICE_RECORD], app[AGENT_PROFILES])
    lock = leader_lock(LIVE_STATE_LOCK, db=app[DATABASE], redis=app.get(REDIS))
    interval_s = app[SETTINGS].handoff.reconcile_s
    job = PeriodicJob(LIVE_STATE_LOCK, reconciler.run_pass, interval_s=interval_s, lock=lock)
    app[LIVE_STATE_JOB] = job
    async with job.running():
        yield


__all__ = ["LIVE_STATE_JOB", "LiveStateReconciler", "live_state_context"]
