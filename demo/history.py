"""A realistic, clearly marked service history: `generate(options)` yields one `Story` per conversation — its
customer, conversation and transcript rows and its facts (`record.ServiceEvent`, with the kinds and data keys that
`record.models` documents and the real emitters write).

What it models: customers in English and Chinese on web, WeChat and Socket.IO, some of them returning; bot turns with
intents and knowledge-base decisions on the starter FAQ's entries (answer, clarify, not found) and "was this
helpful?" clicks; handoffs with reason codes, queue waits, assignments to agents, replies, transfers, wrap-ups,
abandonments; tickets of every category with the priority policy's priority and due times, status changes, first
responses, resolutions, reopens and closes; satisfaction surveys sent and answered. Volume follows the clock: more
in the evening, little at night, fewer at weekends; waits are longer at night and at peaks; a few bad days have more
traffic, long waits, late urgent tickets and unhappy customers.

Everything is marked as demo: ids start with `options.prefix` ("demo-"), every event's data holds `"demo": true`,
customers carry the tag "demo". The same options give the same history, event ids included (they are UUIDv7-shaped
and made from the seeded generator). Facts after `options.end` are left out, as they have not happened yet: some
tickets are still open and the last chats still running. Must never do I/O: `demo.seed` writes what this yields.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from demo import texts
from handoff.constants import GENERAL_GROUP
from handoff.routing import DEFAULT_CATEGORY_GROUPS
from handoff.triggers import ReasonCode
from intake.models import Category, Priority, TicketStatus, Urgency
from intake.priority import PriorityPolicy
from intake.settings import IntakeSettings
from intake.teams import demo_teams
from kb.io import read_yaml
from record import AGENT_PREFIX, BOT, CUSTOMER, SYSTEM, ServiceEvent, ServiceEventKind, agent_actor

Kind = ServiceEventKind
T = TypeVar("T")
DEMO_PREFIX = "demo-"
DEMO_TAG = "demo"
DEFAULT_AGENTS = ("ann", "bob")  # the demo staff's agents (server.cli.DEMO_STAFF)
LANGUAGES = ("en", "zh")
CHANNELS = ("web", "wechat", "socketio")
STARTER_FAQ = "kb/demo/starter_faq.yml"

# Relative traffic per local hour (0-23): quiet at night, a morning and an afternoon plateau, the evening peak.
HOUR_WEIGHTS = (
    0.35, 0.2, 0.12, 0.08, 0.08, 0.12, 0.3, 0.6, 1.0, 1.3, 1.45, 1.4,
    1.2, 1.3, 1.4, 1.4, 1.35, 1.3, 1.5, 2.0, 2.3, 2.2, 1.6, 0.8,
)  # fmt: skip
WEEKDAY_FACTOR = (1.05, 1.0, 1.0, 1.0, 1.1, 0.7, 0.6)  # Monday … Sunday
BAD_DAY_SHARE = 0.05
BAD_DAY_VOLUME = 1.5  # a bad day's traffic against an ordinary one's
# Each language's channel mix: Chinese customers come mostly through WeChat, English ones through the web chat.
CHANNEL_WEIGHTS: Mapping[str, tuple[float, float, float]] = {"en": (0.7, 0.05, 0.25), "zh": (0.35, 0.5, 0.15)}
TIERS = (("standard", 0.85), ("silver", 0.08), ("gold", 0.05), ("vip", 0.02))
CATEGORY_WEIGHTS = (
    (Category.PRODUCT_FAULT, 0.25),
    (Category.DELIVERY, 0.25),
    (Category.REFUND_RETURN, 0.2),
    (Category.BILLING, 0.12),
    (Category.SERVICE_COMPLAINT, 0.1),
    (Category.SUGGESTION, 0.08),
)
# What a conversation turns out to be; a bad day shifts weight from the bot to people.
SCENARIOS = (("faq", 0.45), ("clarify", 0.08), ("not_found", 0.05), ("smalltalk", 0.03), ("handoff", 0.27))
TICKET_SHARE = 0.12
HANDOFF_REASONS = (
    (ReasonCode.CUSTOMER_REQUEST, 0.45),
    (ReasonCode.KB_NOT_FOUND, 0.15),
    (ReasonCode.REPEATED_NOT_FOUND, 0.08),
    (ReasonCode.LOW_CONFIDENCE, 0.07),
    (ReasonCode.UNHELPFUL_ANSWER, 0.1),
    (ReasonCode.FORM_STUCK, 0.1),
    (ReasonCode.BOT_ERROR, 0.05),
)
IDLE_CLOSE_S = 30 * 60.0  # the web chat's idle close: a silent customer's conversation closes after this
REOPEN_WINDOW_S = 7 * 86400.0
CLOSE_AFTER_RESOLVED_S = 7 * 86400.0


@dataclass(frozen=True)
class DemoOptions:
    """`days` local days (in `timezone`) ending with the one `end` (epoch s) falls in, about `per_day` new
    conversations on an ordinary weekday. `transcripts`: also make the rows the staff pages open (messages,
    tickets and their timelines); the benchmark, which times the dashboard only, skips them."""

    end: float
    days: int = 60
    per_day: float = 60.0
    seed: int = 1
    agents: tuple[str, ...] = DEFAULT_AGENTS
    timezone: str = "Asia/Shanghai"
    prefix: str = DEMO_PREFIX
    transcripts: bool = True

    def __post_init__(self) -> None:
        if self.days < 1 or self.per_day <= 0 or not self.agents:
            raise ValueError("days >= 1, per_day > 0 and at least one agent are needed")


@dataclass
class Story:
    """One conversation's rows: `customer` (None when an earlier story made it), the `conversation` and its
    `messages` (rows of `conversations.tables`), and its facts, in time order, all at or before the options' end."""

    customer: dict[str, Any] | None
    conversation: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[ServiceEvent] = field(default_factory=list)
    # Rows of `intake.tables`: the conversation's tickets as they stand at the end, and their timelines.
    tickets: list[dict[str, Any]] = field(default_factory=list)
    ticket_events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    id: str
    language: str
    question: str
    answer: str
    paraphrases: tuple[str, ...]


def starter_entries(path: str = STARTER_FAQ) -> dict[str, list[_Entry]]:
    """The starter FAQ's entries by language (the ids the knowledge base seeds on first start)."""
    text = (Path(__file__).resolve().parents[1] / path).read_text(encoding="utf-8")
    records, problems = read_yaml(text)
    if problems:
        raise ValueError(f"the starter FAQ does not parse: {problems[0].message}")
    entries: dict[str, list[_Entry]] = {language: [] for language in LANGUAGES}
    for r in records:
        d = r.draft
        entries.setdefault(d.language, []).append(_Entry(r.entry_id, d.language, d.question, d.answer, d.paraphrases))
    return entries


def _weighted(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    return rng.choices([value for value, _ in pairs], [weight for _, weight in pairs])[0]


def _team_of() -> dict[Category, tuple[str, tuple[str, ...]]]:
    """Each category's demo team and its members: the team whose skills hold the category's handoff group."""
    teams = demo_teams()
    general = next(t for t in teams if GENERAL_GROUP in t.skills)
    out = {}
    for category in Category:
        group = DEFAULT_CATEGORY_GROUPS.get(category.value, GENERAL_GROUP)
        team = next((t for t in teams if group in t.skills), general)
        out[category] = (team.id, tuple(team.members))
    return out


@dataclass
class _Customer:
    id: str
    name: str
    language: str
    channel: str
    tier: str


@dataclass
class _Day:
    start: float  # local midnight, epoch s
    weekday: int
    bad: bool


class _Conversation:
    """Builds one story: a clock that moves forward, and the facts and messages written as it does."""

    def __init__(self, gen: Generator, conv_id: str, customer: _Customer, channel: str, at: float, bad: bool) -> None:
        self.g = gen
        self.rng = gen.rng
        self.id = conv_id
        self.customer = customer
        self.channel = channel
        self.language = customer.language
        self.t = at
        self.bad = bad
        # (at, order written, kind, actor, columns, data): ids are given once the story is sorted by time.
        self.facts: list[tuple[float, int, Kind, str, dict[str, Any], dict[str, Any]]] = []
        self.messages: list[dict[str, Any]] = []
        self.last_customer_at: float | None = None
        self.assigned_at = at
        self.closed_at: float | None = None
        self.tickets: list[_Ticket] = []

    # primitives --------------------------------------------------------------------------------------------------

    def wait(self, median_s: float, sigma: float = 0.6) -> float:
        """Moves the clock by a log-normal delay with this median (seconds); returns the new time."""
        self.t += median_s * math.exp(self.rng.gauss(0.0, sigma))
        return self.t

    def fact(
        self, kind: Kind, actor: str, *, at: float | None = None, data: Mapping[str, Any] | None = None, **columns: Any
    ) -> None:
        """A fact of this conversation at `at` (default: now), with its columns besides the conversation's own."""
        when = self.t if at is None else at
        self.facts.append((when, len(self.facts), kind, actor, columns, {**(data or {}), "demo": True}))

    def events(self, until: float) -> list[ServiceEvent]:
        """The facts up to `until`, in time order (same-instant ones as written), each with its id."""
        base = {
            "conversation_id": self.id,
            "customer_id": self.customer.id,
            "channel": self.channel,
            "language": self.language,
        }
        ids = self.g.event_ids()
        return [
            ServiceEvent(kind=kind, at=at, actor=actor, id=ids(at), data=data, **(base | columns))
            for at, _, kind, actor, columns, data in sorted(self.facts, key=lambda f: (f[0], f[1]))
            if at <= until
        ]

    def say(self, sender: str, text: str, sender_id: str = "", **custom: Any) -> None:
        if sender == "customer":
            self.last_customer_at = self.t
        if not self.g.options.transcripts:
            return
        seq = len(self.messages) + 1
        self.messages.append(
            {
                "id": f"{self.id}-m{seq}",
                "conversation_id": self.id,
                "seq": seq,
                "sender": sender,
                "sender_id": sender_id,
                "text": text,
                "buttons": "[]",
                "custom": json.dumps(custom, ensure_ascii=False),
                "created_at": self.t,
            }
        )

    def pick(self, bank: texts.Bank) -> str:
        return self.rng.choice(bank[self.language])

    def line(self, key: str, **values: str) -> str:
        return texts.BOT_LINES[key][self.language].format(**values)

    # the bot ----------------------------------------------------------------------------------------------------

    def customer_says(self, text: str, button: bool = False) -> None:
        self.wait(25.0, 0.8)
        self.say("customer", text, self.customer.id)
        self.fact(Kind.CUSTOMER_MESSAGE, CUSTOMER, data={"button": button, "kind": "text"})

    def bot_turn(
        self,
        intent: str,
        reply: str,
        *,
        outcome: str = "bot",
        kb: tuple[str, str | None, float, str, str] | None = None,
        handoff_reason: str | None = None,
        category: str | None = None,
    ) -> None:
        """One answered turn; `kb` = (decision, entry id, confidence, reason, the customer's query)."""
        self.t += self.rng.uniform(0.4, 2.5)
        decision, entry, confidence, reason, query = kb or (None, None, None, None, None)
        self.fact(
            Kind.BOT_TURN,
            BOT,
            category=category,
            data={
                "outcome": outcome,
                "intent": intent,
                "intent_confidence": round(self.rng.uniform(0.55, 0.99), 3),
                "kb_decision": decision,
                "kb_entry": entry,
                "kb_confidence": None if confidence is None else round(confidence, 3),
                "kb_reason": reason,
                "kb_query": query,
                "handoff_reason": handoff_reason,
                "rasa_ms": round(self.rng.uniform(60, 400), 1),
            },
        )
        if reply:
            self.say("bot", reply)

    def faq(self, *, feedback: bool = True) -> tuple[_Entry, bool | None]:
        """A question the FAQ answers; the customer may say whether it helped (None: they did not)."""
        entry = self.g.popular_entry(self.language)
        query = self.rng.choice((entry.question, *entry.paraphrases))
        self.customer_says(query)
        confidence = self.rng.uniform(0.68, 0.95)
        self.bot_turn("ask_question", entry.answer, kb=("answer", entry.id, confidence, "confident", query))
        self.say("bot", self.line("helpful"))
        if not feedback or self.rng.random() > 0.4:
            return entry, None
        helpful = self.rng.random() < (0.45 if entry.id in self.g.weak_entries else 0.88)
        self.customer_says("👍" if helpful else "👎", button=True)
        self.fact(
            Kind.KB_FEEDBACK, CUSTOMER, data={"helpful": helpful, "kb_entry": entry.id, "kb_confidence": confidence}
        )
        self.bot_turn("kb_feedback", self.line("welcome") if helpful else "")
        return entry, helpful

    def clarify(self) -> None:
        entry = self.g.popular_entry(self.language)
        query = entry.question.rstrip("?？")[:14]
        self.customer_says(query)
        confidence = self.rng.uniform(0.45, 0.65)
        self.bot_turn("ask_question", self.line("clarify"), kb=("clarify", entry.id, confidence, "unsure", query))
        self.customer_says(entry.question, button=True)
        self.bot_turn(
            "ask_question",
            entry.answer,
            kb=("answer", entry.id, self.rng.uniform(0.8, 0.97), "confident", entry.question),
        )

    def not_found(self, *, reason: str | None = None) -> None:
        query = self.g.not_found_query(self.language)
        self.customer_says(query)
        entry = self.g.popular_entry(self.language).id
        confidence = self.rng.uniform(0.08, 0.4)
        if reason is None:
            self.bot_turn(
                "ask_question", self.line("not_found"), kb=("not_found", entry, confidence, "low_confidence", query)
            )
        else:
            self.bot_turn(
                "ask_question",
                self.line("not_found"),
                outcome="handoff",
                kb=("not_found", entry, confidence, "low_confidence", query),
                handoff_reason=reason,
            )

    # people ------------------------------------------------------------------------------------------------------

    def handoff(self, reason: str, category: Category | None = None, priority: Priority | None = None) -> None:
        """Handoff requested → queued → assigned (or abandoned) → replies (maybe a transfer) → wrap-up → back to
        the bot → survey."""
        tier = self.customer.tier
        chosen = priority or (Priority.HIGH if tier in ("gold", "vip") else Priority.NORMAL)
        group = DEFAULT_CATEGORY_GROUPS.get(category.value, GENERAL_GROUP) if category else GENERAL_GROUP
        queue = f"{self.language}:{group}"
        cat = category.value if category else None
        self.say("event", "", handoff={"reason": reason})
        self.say("bot", self.line("handoff"))
        enqueued = self.t
        due = self.g.first_response_due(chosen, enqueued)
        hour = self.g.local_hour(enqueued)
        pressure = (6.0 if hour < 8 else 2.2 if 19 <= hour <= 22 else 1.0) * (4.0 if self.bad else 1.0)
        immediate = self.rng.random() < 0.12 / pressure
        wait_s = 0.0 if immediate else 40.0 * pressure * math.exp(self.rng.gauss(0.0, 1.0))
        patience = 420.0 * math.exp(self.rng.gauss(0.0, 0.9))
        abandons = not immediate and wait_s > patience
        common: dict[str, Any] = {"queue": queue, "category": cat, "priority": chosen.value}
        self.fact(
            Kind.HANDOFF_REQUESTED,
            BOT,
            category=cat,
            priority=chosen.value,
            data={
                "reason": reason,
                "scores": {},
                "tier": tier,
                "outcome": "assigned" if immediate else "queued",
                "first_response_due": due,
            },
        )
        position = 1 if immediate else self.rng.randint(1, 2 + int(pressure))
        self.fact(
            Kind.QUEUED,
            SYSTEM,
            **common,
            data={
                "cause": "request",
                "reason": reason,
                "tier": tier,
                "enqueued_at": enqueued,
                "first_response_due": due,
                "position": position,
                "eta_s": round(40.0 * pressure * position, 1),
            },
        )
        if abandons:
            self.t = enqueued + patience
            left = self.rng.random() < 0.6
            self.fact(
                Kind.ABANDONED,
                CUSTOMER if left else SYSTEM,
                **common,
                data={"cause": "left" if left else "silent", "wait_s": patience},
            )
            return
        agent = self.g.agent()
        self.t = enqueued + wait_s
        self.assign(agent, "auto", SYSTEM, enqueued, common)
        agent = self.agent_session(agent, enqueued, common, first_gap=40.0 * (3.0 if self.bad else 1.0))
        if self.rng.random() < 0.06 and len(self.g.options.agents) > 1:
            to = self.g.agent(besides=agent)
            self.wait(60.0)
            self.fact(
                Kind.TRANSFERRED,
                agent_actor(agent),
                agent=agent,
                **common,
                data={"from_agent": agent, "to_agent": to, "to_queue": None},
            )
            self.assign(to, "transfer", agent_actor(agent), enqueued, common)
            agent = self.agent_session(to, enqueued, common, first_gap=50.0)
        assigned_at = self.assigned_at
        self.wait(90.0)
        self.fact(
            Kind.WRAP_UP,
            agent_actor(agent),
            agent=agent,
            **common,
            data={"handle_s": self.t - assigned_at, "replied": True, "noted": self.rng.random() < 0.7},
        )
        wrap_up_s = self.rng.uniform(15.0, 150.0)
        self.t += wrap_up_s
        self.fact(
            Kind.BACK_TO_BOT,
            agent_actor(agent),
            agent=agent,
            **common,
            data={"cause": "finished", "wrap_up_s": wrap_up_s},
        )
        self.survey(agent, ticket=None, unhappy=wait_s > 900 or self.bad)

    def assign(self, agent: str, via: str, actor: str, enqueued: float, common: Mapping[str, Any]) -> None:
        self.assigned_at = self.t
        self.fact(
            Kind.ASSIGNED,
            actor,
            agent=agent,
            **common,
            data={"via": via, "enqueued_at": enqueued, "wait_s": self.t - enqueued},
        )

    def agent_session(self, agent: str, enqueued: float, common: Mapping[str, Any], first_gap: float) -> str:
        """The agent's replies, the customer answering between them; returns the agent."""
        for n in range(self.rng.randint(1, 5)):
            self.wait(first_gap if n == 0 else 70.0, 0.8)
            self.say("agent", self.rng.choice(texts.AGENT_REPLIES[self.language]), agent)
            self.fact(
                Kind.AGENT_REPLY,
                agent_actor(agent),
                agent=agent,
                **common,
                data={"first": n == 0, "assigned_at": self.assigned_at, "enqueued_at": enqueued},
            )
            if self.rng.random() < 0.8:
                self.customer_says(self.pick(texts.CUSTOMER_REPLIES))
        return agent

    def survey(self, agent: str | None, *, ticket: str | None, unhappy: bool, solved: bool | None = None) -> None:
        """Sent now; answered by about half (a follow-up first says whether it was solved), then maybe a comment."""
        survey_id = f"{self.g.options.prefix}srv-{self.g.next_number('survey'):07d}"
        columns: dict[str, Any] = {"agent": agent, "ticket": ticket}
        self.say("bot", self.line("survey"))
        self.fact(Kind.SURVEY_SENT, BOT, **columns, data={"survey": survey_id, "follow_up": ticket is not None})
        if self.rng.random() > (0.35 if unhappy else 0.5) and solved is None:
            return
        self.wait(120.0, 1.0)
        if ticket is not None:
            solved = True if solved is None else solved
            self.fact(
                Kind.SURVEY_ANSWERED,
                CUSTOMER,
                **columns,
                data={"survey": survey_id, "answer": "solved", "solved": solved},
            )
            if not solved:
                return
        weights = (0.25, 0.2, 0.25, 0.2, 0.1) if unhappy else (0.03, 0.04, 0.1, 0.33, 0.5)
        score = self.rng.choices((1, 2, 3, 4, 5), weights)[0]
        self.customer_says(str(score), button=True)
        self.fact(
            Kind.SURVEY_ANSWERED, CUSTOMER, **columns, data={"survey": survey_id, "answer": "score", "score": score}
        )
        if self.rng.random() < 0.3:
            comment = self.pick(texts.COMMENTS_GOOD if score >= 4 else texts.COMMENTS_BAD)
            self.customer_says(comment)
            self.fact(
                Kind.SURVEY_ANSWERED,
                CUSTOMER,
                **columns,
                data={"survey": survey_id, "answer": "comment", "comment": comment},
            )

    def ticket(self) -> None:
        """The bot's issue form makes a ticket; urgent ones and complaints also go to a person at once."""
        category = _weighted(self.rng, CATEGORY_WEIGHTS)
        urgency = self.rng.choices((Urgency.URGENT, Urgency.HIGH, None), (0.08, 0.2, 0.72))[0]
        description = self.pick(texts.DESCRIPTIONS[category])
        self.customer_says(self.pick(texts.REPORT))
        self.bot_turn("report_issue", self.line("form"))
        order = self.rng.choice(texts.ORDER_NUMBERS) if category is not Category.SUGGESTION else None
        if order is not None and self.rng.random() < 0.8:
            self.customer_says(description)
            self.bot_turn("inform", self.line("order"))
            self.customer_says(order)
        else:
            order = None
            self.customer_says(description)
        policy = self.g.policy
        priority = policy.decide(category, urgency, self.customer.tier, description).priority
        created = self.t + self.rng.uniform(0.5, 2.0)
        deadlines = policy.deadlines(priority, created)
        number = f"{self.g.options.prefix.upper()}{self.g.next_number('ticket'):06d}"
        team, members = self.g.teams[category]
        worthy = policy.is_handoff_worthy(category, priority)
        self.bot_turn(
            "inform",
            self.line("ticket", number=number),
            outcome="handoff" if worthy else "bot",
            handoff_reason=worthy,
            category=category.value,
        )
        story = _Ticket(
            self,
            number,
            category,
            priority,
            team,
            created,
            deadlines.first_response_due,
            deadlines.resolution_due,
            urgency,
            order,
            description,
        )
        self.tickets.append(story)
        story.created()
        if worthy:
            reason = ReasonCode(worthy)
            self.handoff(reason.value, category, Priority.URGENT if reason is ReasonCode.URGENT_CATEGORY else None)
        self.close()
        story.lifecycle(self.g.assignee(members))

    def close(self) -> None:
        """The conversation ends: the customer closes the chat, or it closes after the idle limit."""
        last = self.last_customer_at if self.last_customer_at is not None else self.t
        by_customer = self.rng.random() < 0.3
        self.t = max(self.t, last) + (self.rng.uniform(5, 120) if by_customer else IDLE_CLOSE_S)
        self.fact(
            Kind.CONVERSATION_CLOSED,
            CUSTOMER if by_customer else SYSTEM,
            data={
                "cause": "customer" if by_customer else "idle",
                "opened_at": self.facts[0][0],
                "last_customer_at": self.last_customer_at,
            },
        )
        self.closed_at = self.t


class _Ticket:
    """A ticket's life after the form: assignment, first response, maybe waiting on the customer, resolution,
    maybe a reopen, the follow-up survey, the close."""

    def __init__(
        self,
        conv: _Conversation,
        number: str,
        category: Category,
        priority: Priority,
        team: str,
        created: float,
        first_response_due: float,
        resolution_due: float,
        urgency: Urgency | None,
        order: str | None,
        description: str,
    ) -> None:
        self.c = conv
        self.rng = conv.rng
        self.number = number
        self.category = category
        self.priority = priority
        self.team = team
        self.created_at = created
        self.first_response_due = first_response_due
        self.resolution_due = resolution_due
        self.urgency = urgency
        self.order = order
        self.description = description
        self.assignee: str | None = None
        self.status = TicketStatus.NEW
        self.seq = -conv.g.next_number("ticket_seq")  # real tickets count up from 1: never the same seq
        # The timeline as (at, kind, actor, body, data, public, the row's columns it changes).
        self.timeline: list[tuple[float, str, str, str, dict[str, Any], bool, dict[str, Any]]] = []

    def entry(
        self,
        at: float,
        kind: str,
        actor: str,
        data: dict[str, Any],
        *,
        body: str = "",
        public: bool = False,
        **sets: Any,
    ) -> None:
        """A timeline entry of the ticket workspace (`intake.models.EventKind`), with the row's changes."""
        name = actor.removeprefix(AGENT_PREFIX)
        self.timeline.append((at, kind, name, body, data, public, sets))

    def rows(self, until: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The `intake_tickets` row as it stands at `until` and its timeline rows up to then. The SLA watcher never
        looks at it (no next check): a demo ticket raises no alert."""
        c = self.c
        row: dict[str, Any] = {
            "number": self.number,
            "seq": self.seq,
            "customer_id": c.customer.id,
            "conversation_id": c.id,
            "order_number": self.order,
            "category": self.category.value,
            "description": self.description,
            "urgency": self.urgency.value if self.urgency else None,
            "contact": "",
            "language": c.language,
            "priority": self.priority.value,
            "created_at": self.created_at,
            "first_response_due": self.first_response_due,
            "resolution_due": self.resolution_due,
            "extra": json.dumps({"demo": True}),
            "channel": c.channel,
            "team_id": self.team,
            "sla_next_check": None,
            # What the timeline changes (every row has every key: the rows are inserted as one batch).
            "status": TicketStatus.NEW.value,
            "updated_at": self.created_at,
            "assignee": None,
            "first_responded_at": None,
            "resolved_at": None,
            "closed_at": None,
        }
        events: list[dict[str, Any]] = []
        for at, kind, actor, body, data, public, sets in sorted(self.timeline, key=lambda e: e[0]):
            if at > until:
                break
            row |= sets | {"updated_at": at}
            events.append(
                {
                    "number": self.number,
                    "seq": len(events) + 1,
                    "kind": kind,
                    "actor": actor,
                    "body": body,
                    "data": json.dumps(data),
                    "public": public,
                    "at": at,
                }
            )
        return row, events

    def fact(self, kind: Kind, actor: str, at: float, **data: Any) -> None:
        self.c.fact(
            kind,
            actor,
            at=at,
            ticket=self.number,
            agent=self.assignee,
            category=self.category.value,
            priority=self.priority.value,
            team=self.team,
            data=data,
        )

    def status_to(self, to: TicketStatus, actor: str, at: float, **extra: Any) -> None:
        change = {"from": self.status.value, "to": to.value}
        self.fact(Kind.TICKET_STATUS, actor, at, **change, **extra)
        sets: dict[str, Any] = {"status": to.value}
        if to is TicketStatus.RESOLVED:
            sets["resolved_at"] = at
        if to is TicketStatus.CLOSED:
            sets["closed_at"] = at
        if self.status is TicketStatus.RESOLVED and to is TicketStatus.OPEN:
            sets["resolved_at"] = None  # reopened
        self.entry(at, "status", actor, change, public=True, **sets)
        self.status = to

    def reply(self, kind: Kind, agent: str, at: float, **data: Any) -> None:
        """A public reply to the customer (the first one stops the first-response clock)."""
        self.fact(kind, agent_actor(agent), at, **data)
        sets = {"first_responded_at": at} if kind is Kind.TICKET_FIRST_RESPONSE else {}
        body = self.rng.choice(texts.AGENT_REPLIES[self.c.language])
        self.entry(at, "reply", agent, {}, body=body, public=True, **sets)

    def created(self) -> None:
        self.fact(
            Kind.TICKET_CREATED,
            BOT,
            self.created_at,
            urgency=self.urgency.value if self.urgency else None,
            first_response_due=self.first_response_due,
            resolution_due=self.resolution_due,
            order=self.order is not None,
        )
        self.entry(
            self.created_at,
            "created",
            BOT,
            {"to": TicketStatus.NEW.value, "team": self.team},
            public=True,
            status=TicketStatus.NEW.value,
        )

    def late(self, share_median: float, sigma: float) -> float:
        """A share of the target (1.0 = exactly on time): later on bad days, above all for urgent tickets."""
        factor = (2.8 if self.priority is Priority.URGENT else 1.8) if self.c.bad else 1.0
        return share_median * factor * math.exp(self.rng.gauss(0.0, sigma))

    def lifecycle(self, agent: str) -> None:
        c = self.c
        at = self.created_at + self.rng.uniform(60, 1800)
        self.assignee = agent
        self.fact(Kind.TICKET_ASSIGNED, SYSTEM, at, **{"from": None, "to": agent})
        self.entry(at, "assigned", SYSTEM, {"from": None, "to": agent}, assignee=agent)
        first = self.created_at + self.late(0.3, 0.9) * (self.first_response_due - self.created_at)
        first = max(first, at + 30)
        self.status_to(TicketStatus.OPEN, agent_actor(agent), first)
        self.reply(Kind.TICKET_FIRST_RESPONSE, agent, first, due=self.first_response_due, created_at=self.created_at)
        t = first
        window = self.resolution_due - self.created_at  # replies and waits scale with the priority's target
        for _ in range(self.rng.choice((0, 0, 1, 1, 2, 3))):
            t += self.rng.uniform(0.02, 0.12) * window
            if self.rng.random() < 0.3:
                self.status_to(TicketStatus.PENDING_CUSTOMER, agent_actor(agent), t)
                t += self.rng.uniform(0.02, 0.1) * window
                self.status_to(TicketStatus.OPEN, CUSTOMER, t)
            self.reply(Kind.TICKET_REPLY, agent, t)
        resolved = self.created_at + self.late(0.45, 0.7) * window
        resolved = max(resolved, t + 300)
        reopens = self.rng.random() < 0.08
        self.resolve(agent, resolved, first)
        c.t = resolved + self.rng.uniform(1800, 4 * 3600)
        c.survey(agent, ticket=self.number, unhappy=resolved > self.resolution_due, solved=False if reopens else None)
        if reopens:
            at = min(c.t + 60, resolved + REOPEN_WINDOW_S - 1)
            self.status_to(TicketStatus.OPEN, CUSTOMER, at)
            target = self.resolution_due - self.created_at
            self.resolution_due = at + target
            self.fact(Kind.TICKET_REOPENED, CUSTOMER, at, resolution_due=self.resolution_due)
            self.timeline[-1][6]["resolution_due"] = self.resolution_due  # the reopen's status entry
            resolved = at + self.late(0.4, 0.6) * target
            self.resolve(agent, resolved, first)
        self.status_to(TicketStatus.CLOSED, SYSTEM, resolved + CLOSE_AFTER_RESOLVED_S, auto=True)

    def resolve(self, agent: str, at: float, first: float) -> None:
        self.status_to(TicketStatus.RESOLVED, agent_actor(agent), at)
        self.fact(
            Kind.TICKET_RESOLVED,
            agent_actor(agent),
            at,
            due=self.resolution_due,
            created_at=self.created_at,
            first_responded_at=first,
        )


class Generator:
    """Seeded state shared by the stories: the random generator, the customers so far, counters, the FAQ."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.zone = ZoneInfo(options.timezone)
        self.policy = PriorityPolicy(IntakeSettings())
        self.teams = _team_of()
        self.entries = starter_entries()
        # A few entries customers often find unhelpful: the KB table's "most often marked unhelpful".
        self.weak_entries = {self.entries[lang][i].id for lang in LANGUAGES for i in (3, 11)}
        self.customers: list[_Customer] = []
        self._numbers: dict[str, int] = {}

    def next_number(self, what: str) -> int:
        self._numbers[what] = self._numbers.get(what, 0) + 1
        return self._numbers[what]

    def event_ids(self) -> Callable[[float], str]:
        """Ids for one story's events, called in time order: UUIDv7-shaped (RFC 9562) from each event's time and
        the seeded generator, so the same options give the same ids; within one millisecond the counter counts up,
        so a story's events sort by id as they happened (the record reads ties in id order)."""
        last_ms, counter = -1, 0

        def event_id(at: float) -> str:
            nonlocal last_ms, counter
            ms = int(at * 1000) & 0xFFFFFFFFFFFF
            counter = counter + 1 if ms == last_ms else self.rng.getrandbits(11)
            last_ms = ms
            value = ms << 80 | 0x7 << 76 | (counter & 0xFFF) << 64 | 0b10 << 62 | self.rng.getrandbits(62)
            h = f"{value:032x}"
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

        return event_id

    def local_hour(self, at: float) -> int:
        return dt.datetime.fromtimestamp(at, self.zone).hour

    def first_response_due(self, priority: Priority, start: float) -> float:
        return self.policy.sla.first_response_due(priority, dt.datetime.fromtimestamp(start, dt.UTC)).timestamp()

    def popular_entry(self, language: str) -> _Entry:
        """Some entries are asked far more than others (a Zipf-like popularity)."""
        entries = self.entries[language]
        return self.rng.choices(entries, cum_weights=_zipf(len(entries)))[0]

    def not_found_query(self, language: str) -> str:
        bank = texts.NOT_FOUND[language]
        return self.rng.choices(bank, cum_weights=_zipf(len(bank)))[0]

    def agent(self, besides: str | None = None) -> str:
        choices = [a for a in self.options.agents if a != besides] or list(self.options.agents)
        return self.rng.choice(choices)

    def assignee(self, members: Sequence[str]) -> str:
        """A member of the ticket's team who is a demo agent, else any demo agent."""
        mine = [m for m in members if m in self.options.agents]
        return self.rng.choice(mine) if mine else self.agent()

    def days(self) -> list[_Day]:
        last = dt.datetime.fromtimestamp(self.options.end, self.zone).date()
        out = []
        for back in range(self.options.days - 1, -1, -1):
            day = last - dt.timedelta(days=back)
            start = dt.datetime.combine(day, dt.time(), self.zone).timestamp()
            out.append(_Day(start, day.weekday(), self.rng.random() < BAD_DAY_SHARE))
        return out

    def customer(self, at: float) -> tuple[_Customer, dict[str, Any] | None]:
        """A returning customer (about a third of conversations) or a new one, with the new one's row."""
        if self.customers and self.rng.random() < 0.33:
            return self.rng.choice(self.customers[-2000:]), None
        language = self.rng.choices(LANGUAGES, (0.4, 0.6))[0]
        channel = self.rng.choices(CHANNELS, CHANNEL_WEIGHTS[language])[0]
        tier = _weighted(self.rng, TIERS)
        number = self.next_number("customer")
        customer = _Customer(
            f"{self.options.prefix}cus-{number:07d}", self.rng.choice(texts.NAMES[language]), language, channel, tier
        )
        self.customers.append(customer)
        row = {
            "id": customer.id,
            "display_name": customer.name,
            "tier": tier,
            "language": language,
            "created_at": at,
            "tags": json.dumps([DEMO_TAG]),
        }
        return customer, row


def generate(options: DemoOptions) -> Iterator[Story]:
    """The stories in the order their conversations opened. Lazy: the benchmark's million conversations never sit
    in memory together."""
    gen = Generator(options)
    hour_cum = list(_cumulative(HOUR_WEIGHTS))
    horizon = options.end - 3600.0  # the last hour's chats would still be running
    for day in gen.days():
        volume = options.per_day * WEEKDAY_FACTOR[day.weekday] * max(0.5, gen.rng.gauss(1.0, 0.1))
        if day.bad:
            volume *= BAD_DAY_VOLUME
        starts = sorted(
            day.start + 3600.0 * gen.rng.choices(range(24), cum_weights=hour_cum)[0] + gen.rng.uniform(0, 3600)
            for _ in range(round(volume))
        )
        for start in starts:
            if start > horizon:
                break
            yield _story(gen, start, day.bad)


@functools.cache
def _zipf(n: int) -> list[float]:
    """Cumulative weights 1, 1/2, 1/3, … of n items."""
    return list(_cumulative([1.0 / (1 + i) for i in range(n)]))


def _cumulative(weights: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


def _story(gen: Generator, start: float, bad: bool) -> Story:
    rng = gen.rng
    customer, customer_row = gen.customer(start)
    channel = customer.channel if rng.random() < 0.85 else rng.choice(CHANNELS)
    conv = _Conversation(
        gen, f"{gen.options.prefix}conv-{gen.next_number('conversation'):08d}", customer, channel, start, bad
    )
    conv.fact(Kind.CONVERSATION_OPENED, CUSTOMER)
    if rng.random() < 0.5:
        conv.customer_says(conv.pick(texts.GREETING))
        conv.bot_turn("greet", conv.line("greet"))
    if rng.random() < TICKET_SHARE * (1.3 if bad else 1.0):
        conv.ticket()
    else:
        weights = [(s, w * (1.6 if bad and s == "handoff" else 1.0)) for s, w in SCENARIOS]
        _chat(conv, _weighted(rng, weights))
        conv.close()
    closed_at = conv.closed_at
    tickets = [t.rows(gen.options.end) for t in conv.tickets] if gen.options.transcripts else []
    return Story(
        customer=customer_row,
        conversation={
            "id": conv.id,
            "customer_id": customer.id,
            "channel": channel,
            "language": customer.language,
            "created_at": start,
            "closed_at": closed_at if closed_at is not None and closed_at <= gen.options.end else None,
            "last_customer_at": conv.last_customer_at,
            "next_seq": len(conv.messages),
        },
        messages=[m for m in conv.messages if m["created_at"] <= gen.options.end],
        events=conv.events(gen.options.end),
        tickets=[row for row, _ in tickets],
        ticket_events=[e for _, timeline in tickets for e in timeline],
    )


def _chat(conv: _Conversation, scenario: str) -> None:
    """A conversation without a ticket: the bot alone, or a handoff for one of its reasons."""
    rng = conv.rng
    if scenario == "faq":
        for _ in range(rng.choice((1, 1, 1, 2))):
            conv.faq()
        if rng.random() < 0.4:
            conv.customer_says(conv.pick(texts.THANKS))
            conv.bot_turn("thanks", conv.line("welcome"))
    elif scenario == "clarify":
        conv.clarify()
    elif scenario == "not_found":
        conv.not_found()
    elif scenario == "smalltalk":
        conv.customer_says(conv.pick(texts.THANKS))
        conv.bot_turn("thanks", conv.line("welcome"))
    else:
        _handoff(conv, _weighted(rng, HANDOFF_REASONS))


def _handoff(conv: _Conversation, reason: ReasonCode) -> None:
    """The turns that lead to a handoff for `reason`, then the handoff."""
    if reason is ReasonCode.CUSTOMER_REQUEST:
        conv.customer_says(conv.pick(texts.ASK_HUMAN))
        conv.bot_turn("request_human", "", outcome="handoff", handoff_reason=reason.value)
    elif reason is ReasonCode.KB_NOT_FOUND:
        conv.not_found(reason=reason.value)
    elif reason is ReasonCode.REPEATED_NOT_FOUND:
        conv.not_found()
        conv.not_found(reason=reason.value)
    elif reason is ReasonCode.LOW_CONFIDENCE:
        entry = conv.g.popular_entry(conv.language)
        conv.customer_says(entry.question)
        kb = ("clarify", entry.id, conv.rng.uniform(0.3, 0.5), "unsure", entry.question)
        conv.bot_turn("ask_question", "", outcome="handoff", kb=kb, handoff_reason=reason.value)
    elif reason is ReasonCode.UNHELPFUL_ANSWER:
        entry, _ = conv.faq(feedback=False)
        conv.customer_says("👎", button=True)
        conv.fact(Kind.KB_FEEDBACK, CUSTOMER, data={"helpful": False, "kb_entry": entry.id, "kb_confidence": 0.7})
        conv.bot_turn("kb_feedback", "", outcome="handoff", handoff_reason=reason.value)
    elif reason is ReasonCode.FORM_STUCK:
        conv.customer_says(conv.pick(texts.REPORT))
        conv.bot_turn("report_issue", conv.line("order"))
        conv.customer_says(conv.pick(texts.CUSTOMER_REPLIES))
        conv.bot_turn("inform", "", outcome="handoff", handoff_reason=reason.value)
    else:
        conv.customer_says(conv.pick(texts.REPORT))
        conv.t += conv.rng.uniform(5, 15)
        conv.fact(
            Kind.BOT_TURN,
            BOT,
            data={
                "outcome": "bot_error",
                "handoff_reason": reason.value,
                "intent": None,
                "intent_confidence": None,
                "kb_decision": None,
                "kb_entry": None,
                "kb_confidence": None,
                "kb_reason": None,
                "kb_query": None,
                "rasa_ms": 10000.0,
            },
        )
    conv.handoff(reason.value)


__all__ = ["DEFAULT_AGENTS", "DEMO_PREFIX", "DemoOptions", "Generator", "Story", "generate", "starter_entries"]
