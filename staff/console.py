"""The agent console and the supervisor view: pages, the console JSON API and the console WebSocket.

Agents (and supervisors) log in with a staff session cookie. Handlers are thin: they check the member and the
request, call `HandoffService` (ownership) or the pipeline (replies go out through `post_from_agent`, which uses
the conversation's channel adapter), and map lost races to 409. The WebSocket forwards bus events: topic `handoff`
(queue and supervisor views), `agent:{id}` (the inbox) and `conv:{id}` for each conversation the agent owns.
Must never change ownership except through HandoffService, and never render customer text as HTML (the pages'
scripts use textContent only). An agent whose last console socket closes does not go offline by herself: each socket is
counted (with a heartbeat) in the handoff store, she gets no new chats while none is open, and the sweeper sets her
offline only after `FD_HANDOFF_PRESENCE_GRACE_S` with no console open again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from backends.bus import Subscription
from backends.tasks import cancel_and_wait
from bot.handoff_bridge import AGENT_PROFILES, HANDOFF
from bot.keys import BUS, CONVERSATIONS, HTTP, PIPELINE, RASA, SERVICE_RECORD, SETTINGS, TICKETS
from bot.pipeline import conversation_topic
from conversations.exceptions import UnknownConversation
from conversations.models import Sender
from handoff.agents import AgentProfile, Presence
from handoff.constants import BUS_TOPIC_AGENT, BUS_TOPIC_ALL, CONSOLE_HEARTBEAT_S
from handoff.exceptions import UnknownAgent
from handoff.ownership import AGENT_STATES, OwnershipRecord, OwnershipState
from handoff.profiles import ALL_SKILLS, LANGUAGES, InvalidProfile, checked_profile
from handoff.queue import split_skill
from handoff.service import HandoffService
from kb.evidence import Verdict, label_event, labels_in
from staff.auth import SESSION_COOKIE, Role, StaffMember, require_role, same_origin, staff_access
from staff.case_card import (
    CANNED_BY_ID,
    CANNED_RESPONSES,
    FaqDrafts,
    KnowledgeSuggester,
    build_case_card,
    expand_canned,
    last_customer_question,
    rasa_intent,
    sla_of,
)
from staff.keys import STAFF
from staff.pages import role_page
from web.exceptions import BadRequest, Conflict, Forbidden, NotFound
from web.http import parse_json_object, read_json_object, text_field
from web.openapi import BOOLEAN, STRINGS, documented, integer, obj, string

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 2000
MAX_REPLY_CHARS = 4000
QUEUE_LISTED = 200
WS_HEARTBEAT_S = 25.0
WS_MAX_FRAME_BYTES = 16 * 1024

# Optional services of other areas; each is looked up with `app.get` and the feature is skipped when absent.
KB_SEARCH = web.AppKey("console_kb_search", KnowledgeSuggester)
FAQ_DRAFTS = web.AppKey("console_faq_drafts", FaqDrafts)


class ConsoleSockets:
    """The console sockets open in this process (socket id -> member), so that the ones still open when the process
    stops are counted as closed in the shared store (a second close of the same socket changes nothing there)."""

    def __init__(self) -> None:
        self._open: dict[str, str] = {}

    def opened(self, socket_id: str, agent_id: str) -> None:
        self._open[socket_id] = agent_id

    def closed(self, socket_id: str) -> None:
        self._open.pop(socket_id, None)

    def drain(self) -> dict[str, str]:
        """Every socket still open here, forgotten here."""
        out, self._open = self._open, {}
        return out


CONSOLE_SOCKETS = web.AppKey("console_sockets", ConsoleSockets)
AGENT = staff_access(Role.AGENT)
SUPERVISOR = staff_access(Role.SUPERVISOR)

routes = web.RouteTableDef()


# ---- pages ------------------------------------------------------------------------------------------------------


@routes.get("/console")
async def console_page(request: web.Request) -> web.StreamResponse:
    return await role_page(request, Role.AGENT, "console.html")


@routes.get("/console/supervisor")
async def supervisor_page(request: web.Request) -> web.StreamResponse:
    return await role_page(request, Role.SUPERVISOR, "console-supervisor.html")


# ---- helpers ----------------------------------------------------------------------------------------------------


async def registered_agent(request: web.Request, role: Role = Role.AGENT) -> StaffMember:
    """The logged-in member (401/403 otherwise), registered in HandoffService with their current profile."""
    member = await require_role(request, request.app[STAFF], role)
    await register_agent(request.app, member)
    return member


async def register_agent(app: web.Application, member: StaffMember) -> None:
    """Registers the member in HandoffService with their current profile unless it knows them (a new agent, or the
    live state was lost); a new registration starts offline."""
    service = app[HANDOFF]
    if await service.store.get_agent(member.username) is None:
        profiles = app[AGENT_PROFILES]
        await service.register_agent(await profiles.profile_for(member.username, member.display_name))


async def owned_record(service: HandoffService, conversation_id: str, agent_id: str) -> OwnershipRecord:
    record = await service.state_of(conversation_id)
    if record is None:
        raise NotFound("no handoff for this conversation")
    if record.state not in AGENT_STATES or record.agent_id != agent_id:
        raise Conflict("you do not own this conversation", "not_owner")
    return record


def _queue_item(record: OwnershipRecord, profile: AgentProfile | None) -> dict[str, Any]:
    return {
        "conversation_id": record.conversation_id,
        "skill": record.skill,
        "priority": record.priority,
        "tier": record.tier,
        "reason": record.reason,
        "language": record.language,
        "category": record.category,
        "enqueued_at": record.enqueued_at,
        "sla": sla_of(record),
        "events": [e.to_dict() for e in record.events],
        "eligible": profile is None or profile.serves(record.skill),
    }


async def waiting_list(service: HandoffService, profile: AgentProfile | None) -> list[dict[str, Any]]:
    """Waiting conversations, best first per queue; an agent sees the queues they serve, a supervisor (None) all."""
    items: list[dict[str, Any]] = []
    for skill, length in (await service.store.lengths()).items():
        if length <= 0 or (profile is not None and not profile.serves(skill)):
            continue
        entries = await service.store.head(skill, QUEUE_LISTED)
        records = {r.conversation_id: r for r in await service.store.get_many([e.conversation_id for e in entries])}
        for position, entry in enumerate(entries, start=1):
            record = records.get(entry.conversation_id)
            if record is not None and record.state is OwnershipState.QUEUED:
                items.append(_queue_item(record, profile) | {"position": position})
    return sorted(items, key=lambda i: (i["sla"]["deadline"] or 0.0, i["conversation_id"]))


async def console_state(app: web.Application, member: StaffMember) -> dict[str, Any]:
    service = app[HANDOFF]
    status = await service.store.get_agent(member.username)
    profile = status.profile if status else None
    inbox = await service.agent_inbox(member.username) if status else []
    return {
        "me": {
            "username": member.username,
            "display_name": member.display_name,
            "supervisor": member.has(Role.SUPERVISOR),
            "agent": status.to_dict() if status else None,
        },
        "inbox": [r.to_dict() | {"sla": sla_of(r)} for r in inbox],
        "queue": await waiting_list(service, None if member.has(Role.SUPERVISOR) else profile),
        "queues": [q.to_dict() for q in await service.queue_snapshot()],
        "canned": [c.to_dict() for c in CANNED_RESPONSES],
        "presences": [p.value for p in Presence],
    }


async def set_presence(app: web.Application, member: StaffMember, value: Any) -> dict[str, Any]:
    try:
        presence = Presence(str(value))
    except ValueError as exc:
        raise BadRequest("'presence' must be online, away or offline", "bad_presence") from exc
    status = await app[HANDOFF].set_presence(member.username, presence)
    return status.to_dict() if status else {}


# ---- JSON API ---------------------------------------------------------------------------------------------------


@routes.get("/api/v1/console/state")
@documented(AGENT, "The console's state: inbox, queue, canned responses")
async def state(request: web.Request) -> web.Response:
    member = await registered_agent(request)
    return web.json_response(await console_state(request.app, member))


@routes.post("/api/v1/console/presence")
@documented(
    AGENT, "Set my presence", body=obj(presence=string(enum=[p.value for p in Presence]), required=["presence"])
)
async def presence(request: web.Request) -> web.Response:
    member = await registered_agent(request)
    data = await read_json_object(request)
    return web.json_response({"agent": await set_presence(request.app, member, data.get("presence"))})


@routes.post("/api/v1/console/next")
@documented(AGENT, "Take the next waiting chat")
async def pull_next(request: web.Request) -> web.Response:
    member = await registered_agent(request)
    record = await request.app[HANDOFF].pull_next(member.username)
    return web.json_response({"record": record.to_dict() if record else None})


@routes.post("/api/v1/console/conversations/{conversation_id}/claim")
@documented(AGENT, "Claim a waiting chat")
async def claim(request: web.Request) -> web.Response:
    member = await registered_agent(request)
    cid = request.match_info["conversation_id"]
    service = request.app[HANDOFF]
    if not await service.claim(cid, member.username):
        record = await service.state_of(cid)
        if record is None:
            raise NotFound("no handoff for this conversation")
        if record.state in AGENT_STATES and record.agent_id == member.username:
            return web.json_response({"record": record.to_dict()})  # a retried claim that already won
        raise Conflict("someone else took it, or you are not online with a free slot", "claim_lost")
    record = await service.state_of(cid)
    return web.json_response({"record": record.to_dict() if record else None})


async def visible_case(request: web.Request, member: StaffMember) -> tuple[OwnershipRecord, bool]:
    """(the ownership record, whether `member` owns it) of the request's conversation, which they may see: its owner,
    an agent who may claim it, or a supervisor (404 without a handoff, 403 for anyone else)."""
    app = request.app
    record = await app[HANDOFF].state_of(request.match_info["conversation_id"])
    if record is None:
        raise NotFound("no handoff for this conversation")
    status = await app[HANDOFF].store.get_agent(member.username)
    owner = record.state in AGENT_STATES and record.agent_id == member.username
    may_claim = record.state is OwnershipState.QUEUED and status is not None and status.profile.serves(record.skill)
    if not (owner or may_claim or member.has(Role.SUPERVISOR)):
        raise Forbidden("only the owning agent (or an agent who may claim it) sees this case")
    return record, owner


@routes.get("/api/v1/console/conversations/{conversation_id}")
@documented(AGENT, "A chat's case card")
async def case_card(request: web.Request) -> web.Response:
    member = await registered_agent(request)
    app = request.app
    cid = request.match_info["conversation_id"]
    record, owner = await visible_case(request, member)
    intent = await rasa_intent(app[HTTP], app[RASA].server_for(cid), cid)
    try:
        card = await build_case_card(app[CONVERSATIONS], record, tickets=app[TICKETS], intent=intent)
    except UnknownConversation as exc:
        raise NotFound("unknown conversation") from exc
    card["owned"] = owner
    card["kb_available"] = app.get(KB_SEARCH) is not None
    card["kb_labels"] = {str(seq): verdict for seq, verdict in (await labels_in(app[SERVICE_RECORD], cid)).items()}
    return web.json_response(card)


@routes.post("/api/v1/console/conversations/{conversation_id}/kb-labels")
@documented(
    AGENT,
    "Judge the bot's answer on a transcript line",
    body=obj(required=("seq", "label"), seq=integer(minimum=1), label=string(enum=[v.value for v in Verdict])),
)
async def label_kb_decision(request: web.Request) -> web.Response:
    """Body {"seq": the transcript line of a KB decision, "label": "right" | "wrong" | "handoff"}: the agent's verdict
    on it, a `kb_label` fact of the service record (the calibration report's strongest evidence); the last counts."""
    member = await registered_agent(request)
    app = request.app
    cid = request.match_info["conversation_id"]
    data = await read_json_object(request)
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise BadRequest("'seq' must be a transcript line number", "bad_seq")
    try:
        verdict = Verdict(str(data.get("label")))
    except ValueError as exc:
        raise BadRequest("'label' must be right, wrong or handoff", "bad_label") from exc
    await visible_case(request, member)
    try:
        conversation = await app[CONVERSATIONS].get_conversation(cid)
    except UnknownConversation as exc:
        raise NotFound("unknown conversation") from exc
    lines = await app[CONVERSATIONS].history(cid, after_seq=seq - 1, limit=1)
    kb = lines[0].custom.get("kb") if lines and lines[0].seq == seq and lines[0].sender is Sender.EVENT else None
    if not isinstance(kb, dict):
        raise NotFound("no knowledge-base decision on that line")
    event = label_event(cid, seq, kb, verdict, member.username, time.time(), conversation.language)
    # Written now, not through the buffered writer: the agent's next look at the card must show it.
    await app[SERVICE_RECORD].append([event])
    log.info("kb decision labelled", extra={"conversation_id": cid, "seq": seq, "label": verdict.value})
    return web.json_response({"seq": seq, "label": verdict.value})


@routes.get("/api/v1/console/conversations/{conversation_id}/suggestion")
@documented(AGENT, "FAQ answers that may fit the customer's question")
async def suggestion(request: web.Request) -> web.Response:
    member = await registered_agent(request)
    app = request.app
    cid = request.match_info["conversation_id"]
    await owned_record(app[HANDOFF], cid, member.username)
    kb = app.get(KB_SEARCH)
    transcript = await app[CONVERSATIONS].history(cid, limit=2000)
    question = last_customer_question(transcript)
    if kb is None or not question:
        return web.json_response({"available": kb is not None, "question": question, "candidates": []})
    language = (await app[CONVERSATIONS].get_conversation(cid)).language or "en"
    result = await kb.search(question, language)
    candidates = [
        {"entry_id": c.entry_id, "question": c.question, "answer": c.answer, "confidence": c.confidence}
        for c in result.candidates
    ]
    return web.json_response(
        {"available": True, "question": question, "decision": result.decision.value, "candidates": candidates}
    )


@routes.post("/api/v1/console/conversations/{conversation_id}/messages")
@documented(AGENT, "Reply to the customer", body=obj(text=string(max_length=MAX_REPLY_CHARS), canned_id=string()))
async def reply(request: web.Request) -> web.Response:
    """Body {"text": …} or {"canned_id": …}; canned texts get {customer_name}, {agent_name} filled in."""
    member = await registered_agent(request)
    app = request.app
    cid = request.match_info["conversation_id"]
    data = await read_json_object(request)
    service = app[HANDOFF]
    record = await owned_record(service, cid, member.username)
    if record.state is not OwnershipState.ASSIGNED:
        raise Conflict("the conversation is in wrap-up; the customer no longer sees replies", "wrap_up")
    canned_id = data.get("canned_id")
    if canned_id is not None:
        canned = CANNED_BY_ID.get(str(canned_id))
        if canned is None:
            raise BadRequest("unknown 'canned_id'", "bad_canned_id")
        conversation = await app[CONVERSATIONS].get_conversation(cid)
        customer = await app[CONVERSATIONS].get_customer(conversation.customer_id)
        status = await service.store.get_agent(member.username)
        agent_name = status.profile.display_name if status else member.display_name
        language = conversation.language or record.language or "en"
        text = expand_canned(
            canned.text_in(language),
            {"customer_name": customer.display_name, "agent_name": agent_name},
        )
    else:
        text = text_field(data, "text", MAX_REPLY_CHARS)
    message = await app[PIPELINE].post_from_agent(cid, member.username, text)
    await service.record_agent_reply(cid, member.username)
    return web.json_response({"message": message.to_dict()})


@routes.post("/api/v1/console/conversations/{conversation_id}/typing")
@documented(AGENT, "Tell the customer I am typing", body=obj(on=BOOLEAN))
async def typing(request: web.Request) -> web.Response:
    member = await registered_agent(request)
    cid = request.match_info["conversation_id"]
    data = await read_json_object(request)
    await owned_record(request.app[HANDOFF], cid, member.username)
    await request.app[PIPELINE].publish_typing(cid, "agent", bool(data.get("on", True)))
    return web.json_response({"ok": True})


@routes.post("/api/v1/console/conversations/{conversation_id}/transfer")
@documented(
    AGENT,
    "Transfer a chat to an agent or a queue",
    body=obj(to_agent=string(), to_queue=string(), note=string(max_length=MAX_NOTE_CHARS)),
)
async def transfer(request: web.Request) -> web.Response:
    """Body {"to_agent": id} or {"to_queue": "zh:billing"}, with an optional "note" for whoever picks it up."""
    member = await registered_agent(request)
    cid = request.match_info["conversation_id"]
    data = await read_json_object(request)
    to_agent, to_queue = data.get("to_agent"), data.get("to_queue")
    if (to_agent is None) == (to_queue is None):
        raise BadRequest("give exactly one of 'to_agent' or 'to_queue'", "bad_target")
    if to_agent is not None and (not isinstance(to_agent, str) or not to_agent or to_agent == member.username):
        raise BadRequest("'to_agent' must be another agent's username", "bad_target")
    if to_queue is not None:
        language, group = split_skill(str(to_queue))
        if language not in LANGUAGES or group not in (*ALL_SKILLS, "general"):
            raise BadRequest("'to_queue' must be <en|zh>:<skill group>", "bad_target")
        to_queue = f"{language}:{group}"
    note = text_field(data, "note", MAX_NOTE_CHARS, required=False)
    service = request.app[HANDOFF]
    await owned_record(service, cid, member.username)
    if to_agent is not None and await service.store.get_agent(to_agent) is None:
        target = await request.app[STAFF].get(to_agent)
        if target is None or not target.has(Role.AGENT):
            raise NotFound(f"no agent {to_agent!r}")
        profiles = request.app[AGENT_PROFILES]
        await service.register_agent(await profiles.profile_for(target.username, target.display_name))
    try:
        record = await service.transfer(cid, member.username, to_agent=to_agent, to_queue=to_queue, note=note)
    except UnknownAgent as exc:
        raise NotFound(f"no agent {exc.agent_id!r}") from exc
    if record is None:
        raise Conflict("the target agent is not online with a free slot (the chat stays with you)", "target_busy")
    return web.json_response({"record": record.to_dict()})


@routes.post("/api/v1/console/conversations/{conversation_id}/close")
@documented(
    AGENT,
    "Close a chat (wrap-up)",
    body=obj(
        resolution=string(max_length=MAX_NOTE_CHARS),
        faq_draft=obj(
            question=string(max_length=MAX_NOTE_CHARS),
            answer=string(max_length=MAX_REPLY_CHARS),
            required=["question", "answer"],
        ),
        keep_wrap_up=BOOLEAN,
    ),
)
async def close(request: web.Request) -> web.Response:
    """Body {"resolution": …, "faq_draft"?: {"question", "answer"}, "keep_wrap_up"?: bool}.

    Closing hands the conversation back to the bot, which asks the customer for a rating. With keep_wrap_up the
    agent stays in wrap-up (the chat still counts toward their load) until /finish or the wrap-up timeout.
    """
    member = await registered_agent(request)
    app = request.app
    cid = request.match_info["conversation_id"]
    data = await read_json_object(request)
    resolution = text_field(data, "resolution", MAX_NOTE_CHARS, required=False)
    draft = data.get("faq_draft")
    if draft is not None and not isinstance(draft, dict):
        raise BadRequest("'faq_draft' must be an object with 'question' and 'answer'", "bad_faq_draft")
    question = text_field(draft, "question", MAX_NOTE_CHARS) if draft else ""
    answer = text_field(draft, "answer", MAX_REPLY_CHARS) if draft else ""
    service = app[HANDOFF]
    record = await owned_record(service, cid, member.username)
    if record.state is OwnershipState.ASSIGNED and await service.close(cid, member.username, resolution) is None:
        raise Conflict("the conversation changed hands meanwhile", "not_owner")
    draft_id: str | None = None
    drafts = app.get(FAQ_DRAFTS)
    if draft and drafts is not None:
        language = (await app[CONVERSATIONS].get_conversation(cid)).language or "en"
        draft_id = await drafts.create_draft(question, answer, language, author=member.username, source=cid)
    finished = None
    if not data.get("keep_wrap_up"):
        finished = await service.finish_wrap_up(cid, member.username)
    return web.json_response(
        {
            "state": finished.state.value if finished else OwnershipState.WRAP_UP.value,
            "faq_draft": {"id": draft_id, "saved": draft_id is not None, "available": drafts is not None}
            if draft
            else None,
        }
    )


@routes.post("/api/v1/console/conversations/{conversation_id}/finish")
@documented(AGENT, "Finish wrap-up; the bot takes the chat back")
async def finish(request: web.Request) -> web.Response:
    member = await registered_agent(request)
    cid = request.match_info["conversation_id"]
    record = await request.app[HANDOFF].finish_wrap_up(cid, member.username)
    if record is None:
        raise Conflict("not in wrap-up with you", "not_wrap_up")
    return web.json_response({"state": record.state.value})


@routes.get("/api/v1/console/supervisor")
@documented(SUPERVISOR, "The supervisor's view: queues, agents, deadlines")
async def supervisor(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    service = request.app[HANDOFF]
    waiting = await waiting_list(service, None)
    deadlines = {i["conversation_id"]: i["sla"]["deadline"] for i in waiting if i["sla"]["deadline"] is not None}
    agents = await service.store.list_agents()
    assigned = await service.store.get_many([c for a in agents for c in a.chats])
    for record in assigned:
        deadline = sla_of(record)["deadline"]
        if deadline is not None and record.last_agent_reply_at is None:
            deadlines[record.conversation_id] = deadline
    snapshot = await service.supervisor_snapshot(deadlines)
    return web.json_response(
        snapshot.to_dict() | {"waiting": waiting, "deadlines": deadlines, "assigned": [r.to_dict() for r in assigned]}
    )


@routes.get("/api/v1/console/agents")
@documented(SUPERVISOR, "Agents and their profiles")
async def list_agents(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    agents = await request.app[HANDOFF].store.list_agents()
    return web.json_response({"agents": [a.to_dict() for a in agents], "skills": list(ALL_SKILLS)})


@routes.put("/api/v1/console/agents/{username}")
@documented(
    SUPERVISOR,
    "Set an agent's skills, languages and capacity",
    body=obj(
        skills=STRINGS,
        languages=STRINGS,
        capacity=integer(minimum=0),
        display_name=string(max_length=80),
        required=["capacity"],
    ),
)
async def put_agent(request: web.Request) -> web.Response:
    """Admin API: {"skills": [...], "languages": ["en", "zh"], "capacity": 3, "display_name"?: …}."""
    await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    username = request.match_info["username"]
    member = await request.app[STAFF].get(username)
    if member is None or not member.has(Role.AGENT):
        raise NotFound("no staff member with the agent role by that name")
    data = await read_json_object(request)
    skills, languages, capacity = data.get("skills", []), data.get("languages", list(LANGUAGES)), data.get("capacity")
    if not isinstance(skills, list) or not all(isinstance(s, str) for s in skills):
        raise BadRequest("'skills' must be a list of strings", "bad_skills")
    if not isinstance(languages, list) or not all(isinstance(s, str) for s in languages):
        raise BadRequest("'languages' must be a list of strings", "bad_languages")
    if not isinstance(capacity, int) or isinstance(capacity, bool):
        raise BadRequest("'capacity' must be an integer", "bad_capacity")
    display_name = text_field(data, "display_name", 80, required=False) or member.display_name
    try:
        profile = checked_profile(username, display_name, skills, languages, capacity)
    except InvalidProfile as exc:
        raise BadRequest(str(exc), "bad_profile") from exc
    await request.app[AGENT_PROFILES].put(profile)
    status = await request.app[HANDOFF].register_agent(profile)
    return web.json_response({"agent": status.to_dict()})


# ---- WebSocket --------------------------------------------------------------------------------------------------


@routes.get("/api/v1/console/ws")
@documented(AGENT, "The live console (WebSocket)", websocket=True)
async def console_ws(request: web.Request) -> web.StreamResponse:
    """Live console. Server frames: {"type": "ready", "state": …} then {"type": "event", "topic", "event"}.
    Client frames: {"type": "typing", "conversation_id", "on"}, {"type": "presence", "presence"}, {"type": "ping"}."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    # A cookie alone must not open a console from another site. The Origin check is the whole CSRF defence here:
    # every browser sends Origin on a WebSocket handshake, and a client that sends none is no browser riding a
    # cookie. Its frames (presence, typing) change state only for the member who opened it.
    if not same_origin(request, request.app[SETTINGS].effective_public_url):
        raise Forbidden("cross-origin socket refused")
    app = request.app
    service = app[HANDOFF]
    # A fresh registration on connect picks up profile edits made by the admin API or the CLI meanwhile.
    await service.register_agent(await app[AGENT_PROFILES].profile_for(member.username, member.display_name))
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S, max_msg_size=WS_MAX_FRAME_BYTES)
    await ws.prepare(request)
    # Counted in the shared store, with a heartbeat: a page change or reload reopens a socket within the presence
    # grace period, on this replica or another, and nothing happens; meanwhile routing gives her no new chats.
    socket_id = uuid.uuid4().hex
    sockets = app[CONSOLE_SOCKETS]
    sockets.opened(socket_id, member.username)
    session = _ConsoleSession(app, ws, member, socket_id, request.cookies[SESSION_COOKIE])
    try:
        await session.run()
    finally:
        with contextlib.suppress(Exception):
            await service.console_closed(member.username, socket_id)
        sockets.closed(socket_id)  # only now: a shutdown that cancels the close above still closes it
    return ws


class _ConsoleSession:
    """One console socket: a writer task, the bus pump and one forwarder per owned conversation."""

    def __init__(
        self, app: web.Application, ws: web.WebSocketResponse, member: StaffMember, socket_id: str, session: str
    ) -> None:
        self.app = app
        self.ws = ws
        self.member = member
        self.socket_id = socket_id
        self.session = session  # the staff session cookie it was opened with: the socket lives no longer than it
        self.out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.conversations: dict[str, asyncio.Task[None]] = {}
        # Forwarders already cancelled by _unfollow: run() still sees them end, as their cancel may have been lost.
        self.unfollowed: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        bus = self.app[BUS]
        agent_topic = BUS_TOPIC_AGENT.format(agent_id=self.member.username)
        writer = asyncio.create_task(self._write())
        async with bus.subscribe(BUS_TOPIC_ALL, agent_topic) as subscription:
            # Once subscribed, so a chat offered on opening (she is back, online) reaches this socket too.
            await self.app[HANDOFF].console_opened(self.member.username, self.socket_id)
            state = await console_state(self.app, self.member)
            for record in state["inbox"]:
                self._follow(record["conversation_id"])
            self.out.put_nowait({"type": "ready", "state": state})
            pump = asyncio.create_task(self._pump(subscription))
            # Started only once the socket is counted, and stopped with it: a stray heartbeat would revive it.
            heartbeat = asyncio.create_task(self._heartbeat())
            try:
                await self._read()
            finally:
                # Forwarders SUBSCRIBE through Redis, where one cancel() can be lost (see cancel_and_wait).
                await cancel_and_wait(pump, writer, heartbeat, *self.conversations.values(), *self.unfollowed)

    async def _write(self) -> None:
        while True:
            frame = await self.out.get()
            if self.ws.closed:
                return
            await self.ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def _heartbeat(self) -> None:
        """Renews this socket in the shared store, so it stops counting soon after its process dies; closes it once
        its session has ended (logout elsewhere, a new password, the account disabled), on any replica."""
        service = self.app[HANDOFF]
        while True:
            await asyncio.sleep(CONSOLE_HEARTBEAT_S)
            try:
                if await self.app[STAFF].member_for_session(self.session) is None:
                    log.info("console of %s closed: its session ended", self.member.username)
                    await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"session ended")
                    return
                if not await service.console_heartbeat(self.member.username, self.socket_id):
                    await self._registered_again()
            except Exception:
                log.warning("console heartbeat of %s failed; retrying", self.member.username, exc_info=True)

    async def _registered_again(self) -> None:
        """The live state lost her (Redis came back empty) while her console is open: she is here, so she is
        registered again and her console gets a fresh start, which sets her presence back as on any reconnect."""
        log.warning("console of %s: the live state had lost her; registered again", self.member.username)
        await register_agent(self.app, self.member)
        await self.app[HANDOFF].console_opened(self.member.username, self.socket_id)
        self.out.put_nowait({"type": "ready", "state": await console_state(self.app, self.member)})

    async def _pump(self, subscription: Subscription) -> None:
        async for topic, event in subscription:
            if topic != BUS_TOPIC_ALL:
                cid = str(event.get("conversation_id", ""))
                if event.get("type") == "assigned" and cid:
                    self._follow(cid)
                elif event.get("type") == "unassigned" and cid:
                    self._unfollow(cid)
            self.out.put_nowait({"type": "event", "topic": topic, "event": event})

    def _follow(self, conversation_id: str) -> None:
        if conversation_id not in self.conversations:
            self.conversations[conversation_id] = asyncio.create_task(self._forward(conversation_id))

    def _unfollow(self, conversation_id: str) -> None:
        task = self.conversations.pop(conversation_id, None)
        if task is not None:
            task.cancel()
            self.unfollowed.add(task)
            task.add_done_callback(self.unfollowed.discard)

    async def _forward(self, conversation_id: str) -> None:
        topic = conversation_topic(conversation_id)
        async with self.app[BUS].subscribe(topic) as subscription:
            async for _topic, event in subscription:
                if event.get("type") == "typing" and event.get("who") == "agent":
                    continue  # our own typing echo
                self.out.put_nowait({"type": "event", "topic": topic, "event": event})

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type is WSMsgType.BINARY:
                self.out.put_nowait({"type": "error", "error": {"code": "binary", "message": "send JSON text frames"}})
            if frame.type is not WSMsgType.TEXT:
                continue
            try:
                await self._handle(parse_json_object(frame.data, "frame"))
            except BadRequest as exc:
                log.info("console of %s: frame refused: %s %s", self.member.username, exc.code, exc)
                self.out.put_nowait({"type": "error", "error": {"code": exc.code, "message": str(exc)}})

    async def _handle(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "ping":
            self.out.put_nowait({"type": "pong"})
        elif kind == "presence":
            agent = await set_presence(self.app, self.member, data.get("presence"))
            self.out.put_nowait({"type": "presence", "agent": agent})
        elif kind == "typing":
            cid = str(data.get("conversation_id", ""))
            if cid not in self.conversations:
                raise BadRequest("you do not own that conversation", "not_owner")
            await self.app[PIPELINE].publish_typing(cid, "agent", bool(data.get("on", True)))
        else:
            raise BadRequest("unknown frame type", "bad_frame")


async def _console_context(app: web.Application) -> AsyncIterator[None]:
    sockets = ConsoleSockets()
    app[CONSOLE_SOCKETS] = sockets
    yield
    # Sockets still open here count as closed: their agents reconnect to another replica within the presence grace
    # period (a rolling restart), or the sweeper sets them offline once it has passed.
    for socket_id, agent_id in sockets.drain().items():
        with contextlib.suppress(Exception):
            await app[HANDOFF].console_closed(agent_id, socket_id)


def setup_console(app: web.Application) -> None:
    app.add_routes(routes)
    app.cleanup_ctx.append(_console_context)


__all__ = ["CONSOLE_SOCKETS", "FAQ_DRAFTS", "KB_SEARCH", "routes", "setup_console"]
