"""Hand-written histories for the metric tests: `Story` appends `ServiceEvent`s with chosen times (Beijing wall
clock via `bj`), the way the emitters write them, then projects them and builds the report."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from analytics.facts import Clocks
from analytics.projector import Projector
from analytics.query import ReportQuery
from analytics.report import Names, build_report
from backends.sql import Database
from intake.calendar import BusinessCalendar, WeeklyHours
from intake.sla import SlaPolicy
from record import ServiceEvent, ServiceEventKind, SQLServiceRecord, agent_actor

K = ServiceEventKind
TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
# Office hours of the business-time cases: Monday to Friday, 09:00 to 17:00 Beijing time.
CALENDAR = BusinessCalendar(TZ, WeeklyHours.parse("mon-fri 09:00-17:00"))
CLOCKS = Clocks(TZ, CALENDAR)
POLICY = SlaPolicy(calendar=CALENDAR)


def bj(day: str, hhmm: str) -> float:
    """Epoch seconds of a Beijing wall-clock time: `bj("2026-11-06", "16:30")`."""
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=ZONE).timestamp()


class Story:
    def __init__(self) -> None:
        self.events: list[ServiceEvent] = []

    def add(self, kind: K, at: float, actor: str = "system", **values: Any) -> ServiceEvent:
        event = ServiceEvent(kind=kind, at=at, actor=actor, **values)
        self.events.append(event)
        return event

    def opened(self, cid: str, customer: str, at: float, channel: str = "web", language: str = "en") -> None:
        ids = {"conversation_id": cid, "customer_id": customer, "channel": channel, "language": language}
        self.add(K.CONVERSATION_OPENED, at, "customer", **ids)

    def bot_turn(
        self, cid: str, at: float, decision: str | None = None, entry: str | None = None, query: str = ""
    ) -> None:
        data = {"outcome": "bot", "kb_decision": decision, "kb_entry": entry, "kb_query": query}
        self.add(K.BOT_TURN, at, "bot", conversation_id=cid, data=data)

    def handoff(
        self,
        cid: str,
        customer: str,
        at: float,
        *,
        reason: str = "asked_for_human",
        queue: str = "en:general",
        priority: str = "normal",
    ) -> None:
        ids = {"conversation_id": cid, "customer_id": customer, "priority": priority}
        self.add(K.HANDOFF_REQUESTED, at, "bot", **ids, data={"reason": reason, "outcome": "queued"})
        self.add(K.QUEUED, at, "system", **ids, queue=queue, data={"cause": "request", "reason": reason})

    def assigned(self, cid: str, agent: str, at: float) -> None:
        self.add(K.ASSIGNED, at, "system", conversation_id=cid, agent=agent, data={"via": "auto"})

    def reply(self, cid: str, agent: str, at: float) -> None:
        self.add(K.AGENT_REPLY, at, agent_actor(agent), conversation_id=cid, agent=agent)

    def customer_says(self, cid: str, at: float) -> None:
        self.add(K.CUSTOMER_MESSAGE, at, "customer", conversation_id=cid)

    def transfer(self, cid: str, from_agent: str, to_agent: str, at: float) -> None:
        data = {"from_agent": from_agent, "to_agent": to_agent, "to_queue": None}
        self.add(K.TRANSFERRED, at, agent_actor(from_agent), conversation_id=cid, agent=from_agent, data=data)
        self.add(K.ASSIGNED, at, agent_actor(from_agent), conversation_id=cid, agent=to_agent, data={"via": "transfer"})

    def wrap_up(self, cid: str, agent: str, at: float) -> None:
        self.add(K.WRAP_UP, at, agent_actor(agent), conversation_id=cid, agent=agent, data={"replied": True})

    def abandoned(self, cid: str, at: float) -> None:
        self.add(K.ABANDONED, at, "customer", conversation_id=cid, data={"cause": "left"})

    def ticket(
        self, number: str, at: float, *, priority: str = "normal", fr_due: float, res_due: float, **ids: Any
    ) -> None:
        data = {"first_response_due": fr_due, "resolution_due": res_due, "urgency": None, "order": False}
        self.add(K.TICKET_CREATED, at, "bot", ticket=number, priority=priority, data=data, **ids)

    def ticket_reply(self, number: str, agent: str, at: float, *, first: bool, due: float | None = None) -> None:
        kind = K.TICKET_FIRST_RESPONSE if first else K.TICKET_REPLY
        self.add(kind, at, agent_actor(agent), ticket=number, agent=agent, data={"due": due} if first else {})

    def resolved(self, number: str, at: float, due: float) -> None:
        self.add(K.TICKET_STATUS, at, "system", ticket=number, data={"from": "open", "to": "resolved"})
        self.add(K.TICKET_RESOLVED, at, "system", ticket=number, data={"due": due})

    def reopened(self, number: str, at: float, due: float) -> None:
        self.add(K.TICKET_STATUS, at, "customer", ticket=number, data={"from": "resolved", "to": "open"})
        self.add(K.TICKET_REOPENED, at, "customer", ticket=number, data={"resolution_due": due})

    def survey(self, cid: str, survey: str, agent: str, at: float, *scores: tuple[float, int]) -> None:
        self.add(K.SURVEY_SENT, at, "bot", conversation_id=cid, agent=agent, data={"survey": survey})
        for answered_at, score in scores:
            data = {"survey": survey, "answer": "score", "score": score}
            self.add(K.SURVEY_ANSWERED, answered_at, "customer", conversation_id=cid, agent=agent, data=data)

    async def save(self, db: Database) -> Projector:
        """Appends the events and runs one projector pass; returns the projector."""
        await SQLServiceRecord(db).append(self.events)
        projector = Projector(db, CLOCKS, lag_s=3600.0)
        await projector.run_pass()
        return projector


async def report(db: Database, start: str, end: str, now: float | None = None, **filters: str) -> dict[str, Any]:
    query = ReportQuery(dt.date.fromisoformat(start), dt.date.fromisoformat(end), TZ, filters)
    return await build_report(db, query, Names(), POLICY, now if now is not None else bj("2030-01-01", "00:00"))


def kpi(report_json: dict[str, Any], key: str) -> Any:
    return next(k for k in report_json["kpis"] if k["key"] == key)
