"""Tickets for staff: list and filter them, read one with its history, move it along its lifecycle.

When a ticket's status changes, the customer hears about it in the conversation the ticket came from (delivered
through that conversation's channel, WeChat included), in their language. Handlers stay thin: the lifecycle rules
live in `intake.tickets.TicketStore`.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from aiohttp import web

from bot.keys import TICKETS
from intake.exceptions import IllegalTransition
from intake.models import Priority, TicketStatus
from intake.tickets import TicketFilter
from staff.auth import Role, require_role
from staff.console import MAX_NOTE_CHARS
from staff.keys import STAFF
from web.exceptions import BadRequest, NotFound
from web.http import read_json_object, text_field

log = logging.getLogger(__name__)

_Choice = TypeVar("_Choice", TicketStatus, Priority)

routes = web.RouteTableDef()


def _choices(raw: str, kind: type[_Choice], name: str) -> list[_Choice] | None:
    if not raw:
        return None
    try:
        return [kind(part) for part in raw.split(",") if part]
    except ValueError as exc:
        raise BadRequest(f"unknown {name}: {raw!r}", f"bad_{name}") from exc


@routes.get("/api/v1/tickets")
async def list_tickets(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.AGENT)
    query = request.query
    try:
        limit = min(int(query.get("limit", "50")), 500)
    except ValueError as exc:
        raise BadRequest("'limit' must be an integer", "bad_limit") from exc
    tickets = await request.app[TICKETS].search(
        TicketFilter(
            customer_id=query.get("customer_id") or None,
            statuses=_choices(query.get("status", ""), TicketStatus, "status"),
            priorities=_choices(query.get("priority", ""), Priority, "priority"),
            limit=limit,
        )
    )
    return web.json_response({"tickets": [t.to_dict() for t in tickets]})


@routes.get("/api/v1/tickets/{number}")
async def read_ticket(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.AGENT)
    number = request.match_info["number"]
    ticket = await request.app[TICKETS].get_for_staff(number)
    if ticket is None:
        raise NotFound(f"unknown ticket {number}")
    timeline = await request.app[TICKETS].timeline(number)
    return web.json_response({"ticket": ticket.to_dict(), "timeline": [e.to_dict() for e in timeline]})


@routes.post("/api/v1/tickets/{number}/status")
async def change_status(request: web.Request) -> web.Response:
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    data = await read_json_object(request)
    try:
        to_status = TicketStatus(str(data.get("status", "")))
    except ValueError as exc:
        raise BadRequest("'status' must be one of " + ", ".join(s.value for s in TicketStatus), "bad_status") from exc
    note = text_field(data, "note", MAX_NOTE_CHARS, required=False)
    number = request.match_info["number"]
    try:
        ticket = await request.app[TICKETS].transition(number, to_status, actor=member.username, note=note)
    except IllegalTransition as exc:
        raise BadRequest(str(exc), "illegal_transition") from exc
    if ticket is None:
        raise NotFound(f"unknown ticket {number}")
    return web.json_response({"ticket": ticket.to_dict()})


def setup_tickets(app: web.Application) -> None:
    """Mount after the actions (which own the ticket store's start-up)."""
    app.add_routes(routes)
