"""The SLA watcher: one pass over the tickets whose next check has come, firing "at risk" and "breached" once each.

For every running clock of a ticket (`Ticket.running_clocks`: first response until the first public reply, the
reply clock, resolution; none while the ticket waits on the customer) a pass fires `sla_at_risk` once the policy's
warning instant has passed and `sla_breached` once the due time has. Each fires exactly once per (ticket, metric,
due time) — the claim is a row in `intake_sla_marks`, so two replicas, or a pass repeated after a restart, never fire
twice; the scheduler's leader lock only saves the losing replica the work. Then the ticket's `sla_next_check` is
set to its next warning or deadline, so a pass reads only the tickets that need it.

At risk: the assignee and the team lead (else every supervisor) are alerted. Breached: the priority goes up one
step, the supervisors and the team lead are alerted, the ticket optionally goes to the team lead, and a public
`sla_breached` event carries the new expected time, which the customer-facing listener turns into an apology in
the customer's language. Must never run a loop or hold a lock: `bot.sla_scheduler` does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from intake.models import EventKind, Priority, Ticket
from intake.sla import SlaMetric, SlaPolicy, epoch_to_utc
from intake.tickets import TicketStore

log = logging.getLogger(__name__)

SUPERVISORS = "role:supervisor"


class StaffNotifier(Protocol):
    """Where the watcher's alerts go (the staff alert store, `alerts.store.AlertStore`): `kind` is "sla_at_risk"
    or "sla_breached", `params` has the ticket's "number", the clock's "metric" and its "priority"; the store words
    the title in each reader's language. Recipients are usernames or "role:supervisor"; `link` is a staff path."""

    async def notify(self, recipients: Sequence[str], kind: str, params: Mapping[str, Any], link: str) -> None: ...


@dataclass(frozen=True)
class SlaFired:
    """One SLA event this pass fired (and no other pass ever will)."""

    number: str
    metric: str
    kind: EventKind
    due: float
    at: float


@dataclass(frozen=True)
class BreachActions:
    """What a breach does besides the record: raise the priority one step, hand the ticket to the team lead."""

    raise_priority: bool = True
    reassign_to_lead: bool = False


class SlaWatcher:
    def __init__(
        self,
        tickets: TicketStore,
        notifier: StaffNotifier | None = None,
        *,
        actions: BreachActions = BreachActions(),
        clock: Callable[[], float] = time.time,
        batch: int = 1000,
    ) -> None:
        self._tickets = tickets
        self._notifier = notifier
        self._actions = actions
        self._clock = clock
        self._batch = batch

    async def run_pass(self, now: float | None = None) -> list[SlaFired]:
        """Check every ticket whose next check has come (in batches until none is left); returns what fired."""
        now = self._clock() if now is None else now
        fired: list[SlaFired] = []
        seen: set[str] = set()
        while True:
            due = [t for t in await self._tickets.due_for_check(now, self._batch) if t.number not in seen]
            if not due:
                return fired
            for ticket in due:
                seen.add(ticket.number)
                try:
                    fired += await self._check(ticket, now)
                except Exception:
                    # One bad ticket must not stop the others' clocks; it stays due and is tried next pass.
                    log.exception("SLA check failed for %s", ticket.number)

    async def _check(self, ticket: Ticket, now: float) -> list[SlaFired]:
        policy = await self._tickets.policy_for(ticket.team_id)
        fired: list[SlaFired] = []
        upcoming: list[float] = []
        for metric, warn_at, due in ticket.running_clocks():
            # Tickets from before warnings were stored count from their creation.
            warning = warn_at if warn_at is not None else policy.warning_epoch(ticket.priority, ticket.created_at, due)
            if now >= due:
                # Past the deadline: the warning is moot (claimed silently, so it never fires late).
                await self._tickets.mark_sla(ticket.number, metric, EventKind.SLA_AT_RISK, due, now)
                if await self._tickets.mark_sla(ticket.number, metric, EventKind.SLA_BREACHED, due, now):
                    ticket = await self._breached(ticket, policy, metric, due, now)
                    fired.append(SlaFired(ticket.number, metric, EventKind.SLA_BREACHED, due, now))
            elif now >= warning:
                if await self._tickets.mark_sla(ticket.number, metric, EventKind.SLA_AT_RISK, due, now):
                    ticket = await self._at_risk(ticket, metric, due)
                    fired.append(SlaFired(ticket.number, metric, EventKind.SLA_AT_RISK, due, now))
                upcoming.append(due)
            else:
                upcoming.append(warning)
        await self._tickets.set_next_check(ticket, min(upcoming) if upcoming else None)
        return fired

    async def _team_lead(self, ticket: Ticket) -> str | None:
        team = await self._tickets.teams.get(ticket.team_id) if ticket.team_id else None
        return team.lead if team else None

    async def _at_risk(self, ticket: Ticket, metric: str, due: float) -> Ticket:
        data = {"metric": metric, "due": due}
        updated = await self._tickets.record_sla(ticket, EventKind.SLA_AT_RISK, data) or ticket
        lead = await self._team_lead(ticket)
        recipients = [r for r in (ticket.assignee, lead) if r] or [SUPERVISORS]
        await self._alert(recipients, EventKind.SLA_AT_RISK, ticket, metric)
        return updated

    async def _breached(self, ticket: Ticket, policy: SlaPolicy, metric: str, due: float, now: float) -> Ticket:
        priority = ticket.priority
        if self._actions.raise_priority:
            priority = Priority.from_urgency(priority.urgency + 1)
        expected = policy.due(priority, SlaMetric(metric), epoch_to_utc(now)).timestamp()
        lead = await self._team_lead(ticket)
        extra: dict[str, Any] = {"priority": priority.value}
        if self._actions.reassign_to_lead and lead and ticket.assignee != lead:
            extra["assignee"] = lead
        data = {
            "metric": metric,
            "due": due,
            "expected": expected,
            "priority": {"from": ticket.priority.value, "to": priority.value},
            "assignee": {"from": ticket.assignee, "to": extra.get("assignee", ticket.assignee)},
        }
        updated = await self._tickets.record_sla(ticket, EventKind.SLA_BREACHED, data, extra=extra) or ticket
        recipients = list(dict.fromkeys([SUPERVISORS, *(r for r in (lead, ticket.assignee) if r)]))
        await self._alert(recipients, EventKind.SLA_BREACHED, ticket, metric)
        return updated

    async def _alert(self, recipients: Sequence[str], kind: EventKind, ticket: Ticket, metric: str) -> None:
        if self._notifier is None:
            return
        params = {"number": ticket.number, "metric": metric, "priority": ticket.priority.value}
        try:
            await self._notifier.notify(recipients, kind.value, params, f"/console/tickets/{ticket.number}")
        except Exception:
            # The event is recorded and claimed; a lost alert must not make it fire again.
            log.exception("SLA alert for %s failed", ticket.number)
