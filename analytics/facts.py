"""What one conversation's or one ticket's events add up to: the fact rows of `analytics.tables`, computed in memory.

Owns the fold: `conversation_facts(events)` (the conversation, its handoff episodes, each agent's work in them, its
surveys and KB decisions) and `ticket_facts(events)` (the ticket). Pure functions of the events and a `Clocks` (the
business time zone and calendar): the same events always give the same rows, which is what makes the projector
idempotent and a rebuild exact. Must never do I/O; `docs/metrics.md` says in words what each column means.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from intake.calendar import BusinessCalendar
from record import AGENT_PREFIX, ServiceEventKind

K = ServiceEventKind
Row = dict[str, Any]
_KINDS = {kind.value: kind for kind in ServiceEventKind}


class Fact(NamedTuple):
    """One `service_events` row as the fold reads it: `record.ServiceEvent`'s fields, made straight from the stored
    row (already cleaned when it was written), which costs a fraction of building the event again."""

    id: str
    at: float
    kind: ServiceEventKind
    actor: str
    conversation_id: str | None
    customer_id: str | None
    ticket: str | None
    agent: str | None
    channel: str | None
    language: str | None
    category: str | None
    priority: str | None
    team: str | None
    queue: str | None
    data: Mapping[str, Any]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Fact | None:
        """The fact of a stored row; None for a kind this code does not know (a newer writer's)."""
        kind = _KINDS.get(row["kind"])
        if kind is None:
            return None
        data = json.loads(row["data"] or "{}")
        return cls(
            id=row["id"],
            at=float(row["at"]),
            kind=kind,
            actor=row["actor"],
            conversation_id=row["conversation_id"],
            customer_id=row["customer_id"],
            ticket=row["ticket"],
            agent=row["agent"],
            channel=row["channel"],
            language=row["language"],
            category=row["category"],
            priority=row["priority"],
            team=row["team"],
            queue=row["queue"],
            data=data if isinstance(data, dict) else {},
        )


# A resolution reopened within this long counts in the reopen rate.
REOPEN_WINDOW_S = 7 * 86400.0
# The longest KB query text kept for the not-found clusters.
QUERY_CHARS = 200


@dataclass(frozen=True)
class Clocks:
    """Where days start (`timezone`, the business time zone of the reports) and what business time is (`calendar`,
    the SLA engine's calendar)."""

    timezone: str
    calendar: BusinessCalendar

    def day(self, at: float) -> str:
        """The business day of an instant, "YYYY-MM-DD"."""
        return dt.datetime.fromtimestamp(at, ZoneInfo(self.timezone)).date().isoformat()

    def business_s(self, start: float | None, stop: float | None) -> float | None:
        if start is None or stop is None:
            return None
        return self.calendar.business_seconds_between(_utc(start), _utc(stop))


def _utc(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, dt.UTC)


def _since(start: float | None, stop: float | None) -> float | None:
    return None if start is None or stop is None else max(0.0, stop - start)


def agent_of(event: Fact) -> str | None:
    """The agent who did it: the `agent` column, else the actor's username; None for customers, the bot and the
    system (so a bot message can never count as an agent's)."""
    if event.actor.startswith(AGENT_PREFIX):
        return event.agent or event.actor.removeprefix(AGENT_PREFIX)
    return None


@dataclass
class _AgentWork:
    assigned_at: float | None = None
    holding_since: float | None = None
    first_reply_at: float | None = None
    replies: int = 0
    handle_s: float = 0.0
    resolved: bool = False

    def release(self, at: float) -> None:
        if self.holding_since is not None:
            self.handle_s += max(0.0, at - self.holding_since)
            self.holding_since = None


@dataclass
class _Episode:
    id: str
    requested_at: float
    queue: str | None
    priority: str | None
    category: str | None
    reason: str | None
    tier: str | None
    assigned_at: float | None = None
    first_assigned: str | None = None
    holder: str | None = None
    first_reply_at: float | None = None
    first_replier: str | None = None
    ended_at: float | None = None
    replies: int = 0
    transfers: int = 0
    resolved: bool = False
    abandoned: bool = False
    waiting_since: float | None = None  # the customer's first message not yet answered (after the first reply)
    gaps: list[float] = field(default_factory=list)
    work: dict[str, _AgentWork] = field(default_factory=dict)

    def assign(self, agent: str, at: float) -> None:
        if self.assigned_at is None:
            self.assigned_at, self.first_assigned = at, agent
        work = self.work.setdefault(agent, _AgentWork())
        if work.assigned_at is None:
            work.assigned_at = at
        if work.holding_since is None:
            work.holding_since = at
        self.holder = agent

    def release(self, at: float) -> None:
        if self.holder is not None:
            self.work[self.holder].release(at)
            self.holder = None

    def reply(self, agent: str, at: float) -> None:
        self.replies += 1
        if self.first_reply_at is None:
            self.first_reply_at, self.first_replier = at, agent
        elif self.waiting_since is not None:
            self.gaps.append(max(0.0, at - self.waiting_since))
        self.waiting_since = None
        work = self.work.setdefault(agent, _AgentWork())
        work.replies += 1
        if work.first_reply_at is None:
            work.first_reply_at = at

    def end(self, at: float) -> None:
        self.release(at)
        self.ended_at = at


@dataclass
class ConversationFacts:
    """The rows one conversation's events give: `conversation` (None when nothing says it was opened or written in),
    and the rows of the tables keyed by its id."""

    conversation: Row | None
    handoffs: list[Row]
    agent_work: list[Row]
    surveys: list[Row]
    kb: list[Row]


class _Dimensions:
    """The report's filter dimensions as the conversation's events tell them: the first channel and language, the
    latest category, priority and team, the first queue and the last agent who replied."""

    def __init__(self) -> None:
        self.values: dict[str, str | None] = dict.fromkeys(
            ("channel", "language", "team", "queue", "category", "priority", "agent")
        )

    def see(self, event: Fact) -> None:
        v = self.values
        for name in ("channel", "language", "queue"):
            if v[name] is None:
                v[name] = getattr(event, name)
        for name in ("category", "priority", "team"):
            value = getattr(event, name)
            if value is not None:
                v[name] = value
        if event.kind is K.AGENT_REPLY and (agent := agent_of(event)) is not None:
            v["agent"] = agent


def conversation_facts(conversation_id: str, events: Sequence[Fact], clocks: Clocks) -> ConversationFacts:
    """The fact rows of one conversation from its events (every event with its id, oldest first)."""
    dims = _Dimensions()
    opened_at: float | None = None
    closed_at: float | None = None
    customer: str | None = None
    handed_off = False
    reason: str | None = None
    bot_turns = agent_replies = 0
    episodes: list[_Episode] = []
    current: _Episode | None = None
    surveys: dict[str, Row] = {}
    kb: list[Row] = []
    feedback: dict[str | None, Fact] = {}
    for event in events:
        dims.see(event)
        customer = customer or event.customer_id
        data = event.data
        kind = event.kind
        if kind is K.CONVERSATION_OPENED:
            opened_at = event.at if opened_at is None else min(opened_at, event.at)
        elif kind is K.CONVERSATION_CLOSED:
            closed_at = event.at
        elif kind is K.HANDOFF_REQUESTED and not data.get("duplicate"):
            handed_off = True
            reason = reason or (data.get("reason") or None)
        elif kind is K.QUEUED:
            if data.get("cause") == "request":
                if current is not None:
                    current.end(event.at)
                current = _Episode(
                    id=event.id,
                    requested_at=event.at,
                    queue=event.queue,
                    priority=event.priority,
                    category=event.category,
                    reason=data.get("reason") or None,
                    tier=data.get("tier") or None,
                )
                episodes.append(current)
            elif current is not None:
                current.release(event.at)  # back to the queue: unanswered, offline, or transferred there
        elif kind is K.ASSIGNED and current is not None and event.agent:
            current.assign(event.agent, event.at)
        elif kind is K.AGENT_REPLY and (agent := agent_of(event)) is not None:
            agent_replies += 1
            if current is not None:
                current.reply(agent, event.at)
        elif kind is K.CUSTOMER_MESSAGE:
            if current is not None and current.ended_at is None and current.first_reply_at is not None:
                current.waiting_since = current.waiting_since or event.at
        elif kind is K.TRANSFERRED and current is not None:
            current.transfers += 1
            current.release(event.at)
        elif kind is K.WRAP_UP and current is not None and current.ended_at is None:
            if current.holder is not None:
                current.work[current.holder].resolved = True
            current.resolved = True
            current.end(event.at)
            current = None
        elif kind is K.ABANDONED and current is not None and current.ended_at is None:
            current.abandoned = True
            current.end(event.at)
            current = None
        elif kind is K.BOT_TURN:
            bot_turns += 1
            if data.get("kb_decision"):
                kb.append(
                    _kb_row(event, decision=data["kb_decision"], entry=data.get("kb_entry"), query=data.get("kb_query"))
                )
        elif kind is K.KB_FEEDBACK:
            feedback[data.get("kb_entry")] = event  # the last answer per entry counts
        elif kind in (K.SURVEY_SENT, K.SURVEY_ANSWERED):
            _survey(surveys, event)
    if not events:
        return ConversationFacts(None, [], [], [], [])
    if opened_at is None:
        opened_at = min(e.at for e in events)
    d = dims.values
    conversation = {
        "conversation_id": conversation_id,
        "customer_id": customer,
        "opened_at": opened_at,
        "day": clocks.day(opened_at),
        **d,
        "closed_at": closed_at,
        "handed_off": int(handed_off),
        "handoff_reason": reason,
        "returned_24h": 0,  # the projector's set-based update fills it, across the customer's conversations
        "contained": int(not handed_off),
        "abandoned": int(any(e.abandoned for e in episodes)),
        "episodes": len(episodes),
        "bot_turns": bot_turns,
        "agent_replies": agent_replies,
    }
    handoffs, work = [], []
    answered: set[str] = set()  # agents who replied in an earlier episode
    for episode in episodes:
        row, rows = _episode_rows(conversation, episode, clocks)
        handoffs.append(row)
        for work_row in rows:
            work_row["first_in_conversation"] = int(work_row["agent"] not in answered)
            answered.add(work_row["agent"])
        work.extend(rows)
    for row in surveys.values():
        row.update({**d, "agent": row["agent"] or d["agent"], "day": clocks.day(row["sent_at"])})
    kb.extend(
        _kb_row(e, helpful=int(bool(e.data.get("helpful"))), entry=e.data.get("kb_entry")) for e in feedback.values()
    )
    for row in kb:
        row.update({**{k: row[k] or d[k] for k in d}, "conversation_id": conversation_id, "day": clocks.day(row["at"])})
    return ConversationFacts(conversation, handoffs, work, list(surveys.values()), kb)


def _episode_rows(conversation: Row, e: _Episode, clocks: Clocks) -> tuple[Row, list[Row]]:
    agent = e.first_replier or e.first_assigned
    row = {
        "id": e.id,
        "conversation_id": conversation["conversation_id"],
        "customer_id": conversation["customer_id"],
        "requested_at": e.requested_at,
        "day": clocks.day(e.requested_at),
        "channel": conversation["channel"],
        "language": conversation["language"],
        "team": conversation["team"],
        "queue": e.queue or conversation["queue"],
        "category": e.category or conversation["category"],
        "priority": e.priority or conversation["priority"],
        "agent": agent,
        "reason": e.reason,
        "tier": e.tier,
        "assigned_at": e.assigned_at,
        "first_reply_at": e.first_reply_at,
        "ended_at": e.ended_at,
        "queue_wait_s": _since(e.requested_at, e.assigned_at),
        "first_response_s": _since(e.requested_at, e.first_reply_at),
        "first_response_bh_s": clocks.business_s(e.requested_at, e.first_reply_at),
        "next_reply_s": statistics.median(e.gaps) if e.gaps else None,
        "handle_s": _since(e.assigned_at, e.ended_at) if e.resolved else None,
        "replies": e.replies,
        "transfers": e.transfers,
        "agents": sum(1 for w in e.work.values() if w.replies),
        "resolved": int(e.resolved),
        "abandoned": int(e.abandoned),
    }
    work = [
        {
            "episode_id": e.id,
            "agent": name,
            "conversation_id": conversation["conversation_id"],
            "day": row["day"],
            **{d: row[d] for d in ("channel", "language", "team", "queue", "category", "priority")},
            "assigned_at": w.assigned_at,
            "first_reply_at": w.first_reply_at,
            # The first responder answers for the customer's whole wait; one taking over, from their assignment.
            "first_response_s": _since(e.requested_at if name == e.first_replier else w.assigned_at, w.first_reply_at),
            "handle_s": w.handle_s if w.assigned_at is not None else None,
            "replies": w.replies,
            "resolved": int(w.resolved),
        }
        for name, w in e.work.items()
        if w.replies  # only conversations they answered
    ]
    return row, work


def _kb_row(event: Fact, **values: Any) -> Row:
    text = values.pop("query", None)
    row = {
        "id": event.id,
        "at": event.at,
        **{name: getattr(event, name) for name in ("channel", "language", "team", "queue", "category", "priority")},
        "agent": None,
        "decision": None,
        "entry": None,
        "query": " ".join(str(text).split()).lower()[:QUERY_CHARS] if text else None,
        "helpful": None,
    }
    row.update(values)
    return row


def _survey(surveys: dict[str, Row], event: Fact) -> None:
    """Folds a survey event into its row; a later answer replaces an earlier one (the same customer rating twice
    keeps one answer: the last)."""
    survey = str(event.data.get("survey") or event.id)
    row = surveys.setdefault(
        survey,
        {
            "survey": survey,
            "conversation_id": event.conversation_id,
            "ticket": event.ticket,
            "sent_at": event.at,
            "agent": event.agent,
            "answered_at": None,
            "score": None,
            "solved": None,
        },
    )
    row["ticket"] = row["ticket"] or event.ticket
    row["agent"] = row["agent"] or event.agent
    if event.kind is K.SURVEY_SENT:
        row["sent_at"] = min(row["sent_at"], event.at)
        return
    row["answered_at"] = event.at
    if isinstance(event.data.get("score"), int | float):
        row["score"] = int(event.data["score"])
    if event.data.get("solved") is not None:
        row["solved"] = int(bool(event.data["solved"]))


def ticket_facts(ticket: str, events: Sequence[Fact], clocks: Clocks) -> Row | None:
    """The fact row of one ticket from its events (oldest first); None without any."""
    if not events:
        return None
    created_at: float | None = None
    row: Row = dict.fromkeys(("conversation_id", "customer_id", "status", "first_response_due", "resolution_due"))
    dims: dict[str, str | None] = dict.fromkeys(("channel", "language", "team", "category", "priority", "agent"))
    first_response_at = resolved_at = final_resolved_at = last_resolved = None
    resolutions = replies = reopens = 0
    reopened = False
    for event in events:
        data = event.data
        row["conversation_id"] = row["conversation_id"] or event.conversation_id
        row["customer_id"] = row["customer_id"] or event.customer_id
        for name in ("channel", "language", "team", "category", "priority"):
            dims[name] = getattr(event, name) or dims[name]
        kind = event.kind
        if kind is K.TICKET_CREATED:
            created_at = event.at
            row["first_response_due"] = data.get("first_response_due")
            row["resolution_due"] = data.get("resolution_due")
        elif kind is K.TICKET_ASSIGNED:
            dims["agent"] = data.get("to") if isinstance(data.get("to"), str) else None
        elif kind is K.TICKET_STATUS:
            row["status"] = data.get("to") or row["status"]
        elif kind is K.TICKET_FIRST_RESPONSE:
            first_response_at = event.at if first_response_at is None else first_response_at
            row["first_response_due"] = data.get("due", row["first_response_due"])
            created_at = created_at if created_at is not None else data.get("created_at")
            replies += 1
        elif kind is K.TICKET_REPLY:
            replies += 1
        elif kind is K.TICKET_RESOLVED:
            resolutions += 1
            resolved_at = event.at if resolved_at is None else resolved_at
            final_resolved_at = last_resolved = event.at
            row["resolution_due"] = data.get("due", row["resolution_due"])
            created_at = created_at if created_at is not None else data.get("created_at")
        elif kind is K.TICKET_REOPENED:
            reopens += 1
            if last_resolved is not None and event.at - last_resolved <= REOPEN_WINDOW_S:
                reopened = True
            final_resolved_at = None
            row["resolution_due"] = data.get("resolution_due", row["resolution_due"])
    if created_at is None:
        created_at = events[0].at
    dims["agent"] = dims["agent"] or next((a for e in events if (a := agent_of(e)) is not None), None)
    return {
        **row,
        "ticket": ticket,
        "created_at": created_at,
        "day": clocks.day(created_at),
        **dims,
        "queue": None,
        "first_response_at": first_response_at,
        "first_response_s": _since(created_at, first_response_at),
        "first_response_bh_s": clocks.business_s(created_at, first_response_at),
        "resolved_at": resolved_at,
        "resolution_s": _since(created_at, resolved_at),
        "resolution_bh_s": clocks.business_s(created_at, resolved_at),
        "final_resolved_at": final_resolved_at,
        "final_resolution_s": _since(created_at, final_resolved_at),
        "resolutions": resolutions,
        "reopened": int(reopened),
        "replies": replies,
        "fcr": int(final_resolved_at is not None and reopens == 0 and replies <= 1),
    }


__all__ = ["REOPEN_WINDOW_S", "Clocks", "ConversationFacts", "Fact", "agent_of", "conversation_facts", "ticket_facts"]
