"""The ticket workspace for staff: its pages and JSON API — list, search and saved views; one ticket with its whole
timeline and linked chat transcripts; the status workflow, internal notes, public replies, assignment, transfer to
another team, merging, a resolution saved as a FAQ draft, and a ticket made from a console conversation.

Handlers are thin: they parse, call one `intake.tickets.TicketStore` method, and map its errors — TicketNotFound
404, IllegalTransition 409 `illegal_transition`, InvalidTicketChange 400 `invalid_change`, UnknownTeam 400
`unknown_team`. A public reply reaches the customer through the store's listener on their channel
(`bot.ticket_notices`), never from here. Internal notes are staff-only: nothing here writes to a conversation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web

from bot.handoff_bridge import HANDOFF
from bot.keys import CONVERSATIONS, CUSTOMERS, TICKETS
from conversations.exceptions import UnknownConversation
from handoff.ownership import AGENT_STATES
from handoff.queue import split_skill
from handoff.routing import group_for
from intake.exceptions import IllegalTransition, InvalidTicketChange, TicketNotFound, UnknownTeam
from intake.models import TRANSITIONS, Category, EventKind, Priority, Ticket, TicketDraft, TicketStatus
from intake.tickets import SORTS, TicketFilter, TicketStore
from kb.constants import MAX_QUESTION_CHARS
from staff.auth import Role, StaffMember, require_role
from staff.case_card import last_customer_question
from staff.console import AGENT, FAQ_DRAFTS, MAX_NOTE_CHARS, MAX_REPLY_CHARS, registered_agent
from staff.keys import STAFF
from staff.pages import role_page
from staff.teams_api import agents_of
from web.exceptions import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from web.http import int_param, read_json_object, text_field
from web.openapi import documented, integer, nullable, obj, string

MAX_QUERY_CHARS = 200
MAX_LIMIT = 200
MAX_DESCRIPTION_CHARS = 4000
TRANSCRIPT_MESSAGES = 500
# The order status moves are offered in (the workflow's own order), so the buttons never shuffle.
STATUS_ORDER = tuple(TicketStatus)

_Choice = TypeVar("_Choice", bound=StrEnum)

routes = web.RouteTableDef()


# ---- pages ------------------------------------------------------------------------------------------------------


@routes.get("/console/tickets")
async def tickets_page(request: web.Request) -> web.StreamResponse:
    return await role_page(request, Role.AGENT, "tickets.html")


@routes.get("/console/tickets/{number}")
async def ticket_page(request: web.Request) -> web.StreamResponse:
    return await role_page(request, Role.AGENT, "ticket.html")


# ---- helpers ----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _domain_errors() -> Iterator[None]:
    try:
        yield
    except TicketNotFound as exc:
        raise NotFound(str(exc)) from exc
    except IllegalTransition as exc:
        raise Conflict(str(exc), "illegal_transition") from exc
    except UnknownTeam as exc:
        raise BadRequest(str(exc), "unknown_team") from exc
    except InvalidTicketChange as exc:
        raise BadRequest(str(exc), "invalid_change") from exc


def _text(data: dict[str, Any], name: str, max_chars: int, *, required: bool = True) -> str:
    """`text_field`, with an over-long text a plain 400 `too_long_<name>`: it is the writer's to shorten, and the
    page says so next to the field (a 413 reads as a transport failure)."""
    try:
        return text_field(data, name, max_chars, required=required)
    except PayloadTooLarge as exc:
        raise BadRequest(f"'{name}' is longer than {max_chars} characters", f"too_long_{name}") from exc


def _choices(raw: str, kind: type[_Choice], name: str) -> list[_Choice] | None:
    if not raw:
        return None
    try:
        return [kind(part) for part in raw.split(",") if part]
    except ValueError as exc:
        raise BadRequest(f"unknown {name}: {raw[:60]!r}", f"bad_{name}") from exc


def _number(request: web.Request) -> str:
    return request.match_info["number"].upper()


async def _ticket(store: TicketStore, number: str) -> Ticket:
    ticket = await store.get_for_staff(number)
    if ticket is None:
        raise NotFound(f"no ticket {number[:40]}")
    return ticket


def sla_view(ticket: Ticket) -> dict[str, Any]:
    """The ticket's SLA clocks as the pages show them: `clocks` [{metric, due, warning_at, met_at, paused,
    running}] (epoch seconds; `warning_at`, the stored instant the clock turns at risk, while it runs), and `paused`
    while the ticket waits on the customer."""
    running = {metric: warn_at for metric, warn_at, _due in ticket.running_clocks()}
    paused = ticket.paused_at is not None and ticket.is_open
    clocks: list[dict[str, Any]] = []

    def clock(metric: str, due: float, met_at: float | None) -> None:
        clocks.append(
            {
                "metric": metric,
                "due": due,
                "warning_at": running.get(metric),
                "met_at": met_at,
                "paused": paused and met_at is None,
                "running": metric in running,
            }
        )

    clock("first_response", ticket.first_response_due, ticket.first_responded_at)
    if ticket.next_reply_due is not None:
        clock("next_reply", ticket.next_reply_due, None)
    clock("resolution", ticket.resolution_due, ticket.resolved_at)
    return {"clocks": clocks, "paused": paused}


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """A ticket's fields and its SLA clocks."""
    return ticket.to_dict() | {"sla": sla_view(ticket)}


def allowed_moves(ticket: Ticket) -> list[str]:
    """The statuses this ticket may move to now, in workflow order (the page offers exactly these)."""
    return [s.value for s in STATUS_ORDER if s in TRANSITIONS[ticket.status]]


async def _assignee(request: web.Request, value: Any) -> str | None:
    """None (nobody), or the username of a staff member with the agent role; 400 otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("'assignee' must be a username or null", "bad_assignee")
    member = await request.app[STAFF].get(value)
    if member is None or not member.has(Role.AGENT):
        raise BadRequest(f"no agent {value[:40]!r}", "unknown_assignee")
    return member.username


# ---- list and read ----------------------------------------------------------------------------------------------


async def ticket_filter(request: web.Request, member: StaffMember) -> TicketFilter | None:
    """The list's query string as a `TicketFilter`: q, status, priority, category (comma-separated codes), team (ids,
    or "mine"), assignee ("me", "none" or a username), channel, at_risk=1, breached=1, sort, limit, offset. None when
    nothing can match ("mine" for a member of no team)."""
    query = request.query
    store = request.app[TICKETS]
    now = time.time()
    team_ids: list[str] | None = None
    if query.get("team"):
        teams = [part for part in query["team"].split(",") if part]
        team_ids = sorted(
            {t for part in teams for t in (await store.teams.teams_of(member.username) if part == "mine" else [part])}
        )
        if not team_ids:
            return None  # an empty team filter would narrow nothing: "my teams" of nobody's team is no ticket
    assignee = query.get("assignee") or None
    if assignee == "me":
        assignee = member.username
    elif assignee == "none":
        assignee = ""
    sort = query.get("sort") or "due"
    if sort not in SORTS:
        raise BadRequest("'sort' must be one of " + ", ".join(SORTS), "bad_sort")
    return TicketFilter(
        text=query.get("q", "")[:MAX_QUERY_CHARS],
        statuses=_choices(query.get("status", ""), TicketStatus, "status"),
        priorities=_choices(query.get("priority", ""), Priority, "priority"),
        categories=_choices(query.get("category", ""), Category, "category"),
        team_ids=team_ids,
        assignee=assignee,
        channel=query.get("channel") or None,
        at_risk_at=now if query.get("at_risk") == "1" else None,
        breached_at=now if query.get("breached") == "1" else None,
        sort=sort,
        limit=int_param(query.get("limit"), "limit", 50, 1, MAX_LIMIT),
        offset=int_param(query.get("offset"), "offset", 0),
    )


@routes.get("/api/v1/tickets")
@documented(
    AGENT,
    "List and search tickets",
    query={
        **{name: string(max_length=MAX_QUERY_CHARS) for name in ("q", "status", "priority", "category", "team")},
        **{name: string(max_length=MAX_QUERY_CHARS) for name in ("assignee", "channel")},
        "at_risk": string(enum=("", "0", "1")),
        "breached": string(enum=("", "0", "1")),
        "sort": string(enum=SORTS),
        "limit": integer(minimum=1, maximum=MAX_LIMIT),
        "offset": integer(minimum=0),
    },
)
async def list_tickets(request: web.Request) -> web.Response:
    """`{tickets: [ticket + sla], total, views: {mine, my_team, unassigned, at_risk, breached}, customers: {id: name}}`
    (see ticket_filter; `customers` names the page's customers that have a name, email or phone)."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    store = request.app[TICKETS]
    query = await ticket_filter(request, member)
    tickets = await store.search(query) if query else []
    total = await store.count(query) if query else 0
    views = await store.view_counts(member.username, await store.teams.teams_of(member.username), time.time())
    customers = await request.app[CUSTOMERS].names([t.customer_id for t in tickets])
    return web.json_response(
        {"tickets": [ticket_json(t) for t in tickets], "total": total, "views": views, "customers": customers}
    )


async def transcripts_of(request: web.Request, ticket: Ticket, conversation_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The chat transcripts linked to the ticket (the one it came from first), each its last messages."""
    seen: list[str] = []
    for cid in [ticket.conversation_id, *conversation_ids]:
        if cid and cid not in seen:
            seen.append(cid)
    transcripts = []
    for cid in seen:
        messages = await request.app[CONVERSATIONS].history(cid, limit=TRANSCRIPT_MESSAGES)
        transcripts.append({"conversation_id": cid, "messages": [m.to_dict() for m in messages]})
    return transcripts


@routes.get("/api/v1/tickets/{number}")
@documented(AGENT, "Read a ticket and its timeline")
async def read_ticket(request: web.Request) -> web.Response:
    """`{ticket, customer_name, allowed, timeline, transcripts, teams, agents, me}`: everything the ticket page draws
    (`customer_name`: the customer's name, email or phone; "" when the record has none)."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    store = request.app[TICKETS]
    ticket = await _ticket(store, _number(request))
    timeline = await store.timeline(ticket.number)
    linked = [str(e.data.get("conversation_id", "")) for e in timeline if e.kind is EventKind.LINKED_CONVERSATION]
    return web.json_response(
        {
            "ticket": ticket_json(ticket),
            "customer_name": (await request.app[CUSTOMERS].names([ticket.customer_id])).get(ticket.customer_id, ""),
            "allowed": allowed_moves(ticket),
            "timeline": [e.to_dict() for e in timeline],
            "transcripts": await transcripts_of(request, ticket, linked),
            "teams": [team.to_dict() for team in await store.teams.all()],
            "agents": await agents_of(request.app[STAFF]),
            "me": {"username": member.username, "supervisor": member.has(Role.SUPERVISOR)},
        }
    )


# ---- changes ----------------------------------------------------------------------------------------------------


def _changed(ticket: Ticket) -> web.Response:
    return web.json_response({"ticket": ticket_json(ticket), "allowed": allowed_moves(ticket)})


@routes.post("/api/v1/tickets/{number}/status")
@documented(
    AGENT,
    "Change a ticket's status",
    body=obj(
        status=string(enum=[s.value for s in TicketStatus]), note=string(max_length=MAX_NOTE_CHARS), required=["status"]
    ),
)
async def change_status(request: web.Request) -> web.Response:
    """Body {status, note?}: 409 `illegal_transition` for a move the workflow forbids."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    data = await read_json_object(request)
    try:
        to_status = TicketStatus(str(data.get("status", "")))
    except ValueError as exc:
        raise BadRequest("'status' must be one of " + ", ".join(s.value for s in TicketStatus), "bad_status") from exc
    note = _text(data, "note", MAX_NOTE_CHARS, required=False)
    store = request.app[TICKETS]
    number = _number(request)
    with _domain_errors():
        ticket = await store.transition(number, to_status, actor=member.username, note=note)
    if ticket is None:
        await _ticket(store, number)  # 404 when it does not exist
        raise Conflict("the ticket changed meanwhile; reload it and try again", "conflict")
    return _changed(ticket)


@routes.post("/api/v1/tickets/{number}/notes")
@documented(
    AGENT, "Add an internal note", body=obj(body=string(max_length=MAX_NOTE_CHARS), required=["body"]), status=201
)
async def add_note(request: web.Request) -> web.Response:
    """Body {body}: an internal note, for staff only (never sent or shown to the customer)."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    data = await read_json_object(request)
    body = _text(data, "body", MAX_NOTE_CHARS)
    with _domain_errors():
        event = await request.app[TICKETS].add_note(_number(request), body, actor=member.username)
    return web.json_response({"event": event.to_dict()}, status=201)


@routes.post("/api/v1/tickets/{number}/replies")
@documented(
    AGENT, "Reply to the customer", body=obj(body=string(max_length=MAX_REPLY_CHARS), required=["body"]), status=201
)
async def add_reply(request: web.Request) -> web.Response:
    """Body {body}: a public reply; the store's listener delivers it on the customer's channel."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    data = await read_json_object(request)
    body = _text(data, "body", MAX_REPLY_CHARS)
    with _domain_errors():
        event = await request.app[TICKETS].add_reply(_number(request), body, actor=member.username)
    return web.json_response({"event": event.to_dict()}, status=201)


@routes.post("/api/v1/tickets/{number}/assign")
@documented(AGENT, "Assign a ticket", body=obj(assignee=nullable(string()), required=["assignee"]))
async def assign(request: web.Request) -> web.Response:
    """Body {assignee: username | null}."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    data = await read_json_object(request)
    if "assignee" not in data:
        raise BadRequest("give 'assignee' (a username, or null for nobody)", "bad_assignee")
    assignee = await _assignee(request, data["assignee"])
    with _domain_errors():
        ticket = await request.app[TICKETS].assign(_number(request), assignee, actor=member.username)
    return _changed(ticket)


@routes.post("/api/v1/tickets/{number}/transfer")
@documented(
    AGENT, "Transfer a ticket to a team", body=obj(team=string(), assignee=nullable(string()), required=["team"])
)
async def transfer(request: web.Request) -> web.Response:
    """Body {team, reason, assignee?}: the timeline records who, when and why."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    data = await read_json_object(request)
    team = data.get("team")
    if not isinstance(team, str) or not team:
        raise BadRequest("'team' must be a team id", "bad_team")
    reason = _text(data, "reason", MAX_NOTE_CHARS)
    assignee = await _assignee(request, data.get("assignee"))
    with _domain_errors():
        ticket = await request.app[TICKETS].transfer(
            _number(request), team, actor=member.username, reason=reason, assignee=assignee
        )
    return _changed(ticket)


@routes.post("/api/v1/tickets/{number}/merge")
@documented(AGENT, "Merge a ticket into another", body=obj(into=string(), required=["into"]))
async def merge(request: web.Request) -> web.Response:
    """Body {into: number}: this ticket is closed as a duplicate of `into`; answers with the target."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    data = await read_json_object(request)
    into = data.get("into")
    if not isinstance(into, str) or not into.strip() or len(into) > 40:
        raise BadRequest("'into' must be a ticket number", "bad_into")
    with _domain_errors():
        target = await request.app[TICKETS].merge(_number(request), into.strip(), actor=member.username)
    return _changed(target)


@routes.post("/api/v1/tickets/{number}/faq-draft")
@documented(
    AGENT,
    "Save the resolution as a draft FAQ entry",
    body=obj(
        question=string(max_length=MAX_QUESTION_CHARS),
        answer=string(max_length=MAX_REPLY_CHARS),
        required=["question", "answer"],
    ),
    status=(200, 201),
)
async def faq_draft(request: web.Request) -> web.Response:
    """Body {question, answer}: the resolution saved as a draft FAQ entry in the editors' review list.
    Answers `{faq_draft: {id, saved, available}}` (available is false where the knowledge base is not running)."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    data = await read_json_object(request)
    question = _text(data, "question", MAX_QUESTION_CHARS)
    answer = _text(data, "answer", MAX_REPLY_CHARS)
    ticket = await _ticket(request.app[TICKETS], _number(request))
    drafts = request.app.get(FAQ_DRAFTS)
    draft_id = None
    if drafts is not None:
        language = ticket.language if ticket.language in ("en", "zh") else "en"
        draft_id = await drafts.create_draft(question, answer, language, author=member.username, source=ticket.number)
    return web.json_response(
        {"faq_draft": {"id": draft_id, "saved": draft_id is not None, "available": drafts is not None}},
        status=201 if draft_id else 200,
    )


@routes.post("/api/v1/console/conversations/{conversation_id}/ticket")
@documented(
    AGENT,
    "Make a ticket of a chat",
    body=obj(
        category=string(enum=[c.value for c in Category]),
        priority=string(enum=[p.value for p in Priority]),
        description=string(max_length=MAX_DESCRIPTION_CHARS),
    ),
    status=201,
)
async def ticket_from_conversation(request: web.Request) -> web.Response:
    """Body {category?, priority?, description?}: a ticket for the chat's customer, with its transcript linked. The
    owning agent or a supervisor may; defaults come from the handoff (category, priority) and the customer's last
    question (description)."""
    member = await registered_agent(request)
    app = request.app
    cid = request.match_info["conversation_id"]
    service = app[HANDOFF]
    record = await service.state_of(cid)
    owner = record is not None and record.state in AGENT_STATES and record.agent_id == member.username
    if not (owner or member.has(Role.SUPERVISOR)):
        raise Forbidden("only the agent in the conversation (or a supervisor) makes a ticket of it")
    data = await read_json_object(request)
    try:
        conversation = await app[CONVERSATIONS].get_conversation(cid)
    except UnknownConversation as exc:
        raise NotFound("unknown conversation") from exc
    category = _choices(str(data.get("category") or (record.category if record else "") or ""), Category, "category")
    chosen = category[0] if category else None
    priority = Priority.parse(str(data.get("priority") or (record.priority if record else "") or "normal"))
    if data.get("priority") and priority.value != data["priority"]:
        raise BadRequest("'priority' must be urgent, high, normal or low", "bad_priority")
    description = _text(data, "description", MAX_DESCRIPTION_CHARS, required=False)
    if not description:
        description = last_customer_question(await app[CONVERSATIONS].history(cid, limit=TRANSCRIPT_MESSAGES))
    if chosen is not None:
        group = group_for(chosen.value, service.settings)
    elif record is not None:
        group = split_skill(record.skill)[1]
    else:
        group = None
    draft = TicketDraft(
        customer_id=conversation.customer_id,
        conversation_id=cid,
        category=chosen,
        description=description or None,
        language=conversation.language or "en",
    )
    store = app[TICKETS]
    with _domain_errors():
        ticket = await store.create(
            draft, priority=priority, skill_group=group, channel=conversation.channel, actor=member.username
        )
        ticket = await store.link_conversation(ticket.number, cid, actor=member.username)
    return web.json_response({"ticket": ticket_json(ticket)}, status=201)


def setup_tickets(app: web.Application) -> None:
    app.add_routes(routes)


__all__ = ["allowed_moves", "routes", "setup_tickets", "sla_view", "ticket_filter", "ticket_json"]
