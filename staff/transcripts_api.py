"""Read-only transcripts for staff: the page `/console/conversations/{id}` (static/transcript.html) that the
analytics drill-down links to, and its JSON, for agents (supervisors have the role too).

    GET /api/v1/staff/conversations/{id}  -> {"conversation": {id, channel, language, created_at, closed_at},
        "customer": {id, display_name, tier}, "messages": [Message.to_dict(), …] (customer, bot, agent and system
        lines, oldest first; the machine `event` lines are left out), "notes": [{kind, at, actor, text}] (the
        handoff's internal notes: transfers, resolutions, system notes; only while the live handoff record is
        kept), "tickets": [{number, status, priority, category, created_at}] (the tickets born in this chat)}

Unlike the console's case card it needs no handoff: a conversation the bot answered alone reads the same. 404 for
an unknown conversation. Never writes anything, and never renders customer text as HTML (the page uses
textContent only).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.handoff_bridge import HANDOFF
from bot.keys import CONVERSATIONS, TICKETS
from conversations.exceptions import UnknownConversation, UnknownCustomer
from conversations.models import Sender
from handoff.ownership import EventKind
from staff.auth import Role, require_role, staff_access
from staff.keys import STAFF
from staff.pages import role_page
from web.exceptions import NotFound
from web.openapi import documented

# The longest transcript shown; a longer one shows its first messages (chats are far shorter in practice).
TRANSCRIPT_MESSAGES = 2000
# The handoff events that carry an agent's or the system's words for colleagues, never sent to the customer.
NOTE_KINDS = frozenset({EventKind.TRANSFER, EventKind.RESOLUTION, EventKind.NOTE})

routes = web.RouteTableDef()


@routes.get("/console/conversations/{conversation_id}")
async def transcript_page(request: web.Request) -> web.StreamResponse:
    return await role_page(request, Role.AGENT, "transcript.html")


async def _notes(request: web.Request, conversation_id: str) -> list[dict[str, Any]]:
    record = await request.app[HANDOFF].state_of(conversation_id)
    if record is None:
        return []
    return [
        {"kind": e.kind.value, "at": e.at, "actor": e.actor, "text": e.text}
        for e in record.events
        if e.kind in NOTE_KINDS and e.text.strip()
    ]


@routes.get("/api/v1/staff/conversations/{conversation_id}")
@documented(staff_access(Role.AGENT), "Read a conversation's transcript (read-only)")
async def read_transcript(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.AGENT)
    cid = request.match_info["conversation_id"]
    store = request.app[CONVERSATIONS]
    try:
        conversation = await store.get_conversation(cid)
    except UnknownConversation as exc:
        raise NotFound("unknown conversation") from exc
    try:
        customer = await store.get_customer(conversation.customer_id)
        who = {"id": customer.id, "display_name": customer.display_name, "tier": customer.tier}
    except UnknownCustomer:
        who = {"id": conversation.customer_id, "display_name": "", "tier": ""}
    messages = await store.history(cid, limit=TRANSCRIPT_MESSAGES)
    tickets = await request.app[TICKETS].for_conversation(cid)
    return web.json_response(
        {
            "conversation": {
                "id": conversation.id,
                "channel": conversation.channel,
                "language": conversation.language,
                "created_at": conversation.created_at,
                "closed_at": conversation.closed_at,
            },
            "customer": who,
            "messages": [m.to_dict() for m in messages if m.sender is not Sender.EVENT],
            "notes": await _notes(request, cid),
            "tickets": [
                {
                    "number": t.number,
                    "status": t.status.value,
                    "priority": t.priority.value,
                    "category": t.category.value if t.category else None,
                    "created_at": t.created_at,
                }
                for t in tickets
            ],
        }
    )


def setup_transcripts(app: web.Application) -> None:
    app.add_routes(routes)


__all__ = ["setup_transcripts"]
