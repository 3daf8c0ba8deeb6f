"""Customer records for staff, under `/api/v1/customers` (the agent role; supervisors have it too).

    GET   /api/v1/customers?q=…                 records whose name, email, phone, id or identity matches (never a
                                                 merged one): {"customers": [Customer, …]}
    GET   /api/v1/customers/{id}                 the panel (staff/customer_panel.py); a merged id reads as the record
                                                 it lives on
    PATCH /api/v1/customers/{id}                 {"display_name"?, "tier"?, "tags"?, "preferences"?, "email"?,
                                                 "phone"?} -> {"customer": Customer}
    POST  /api/v1/customers/{id}/merge           {"into": other id, "note"?} -> {"merge": CustomerMerge,
                                                 "customer": the record that lives on}

Handlers are thin: they check the member and the body, call `CustomerRecords`, and map its errors — 404 unknown
customer, 400 a merge into itself or a bad field (`bad_<field>`), 413 a field too long, 409 a record that was merged
into another (`merged`, with `into`). Must never render customer text as HTML: the pages set it with textContent.
"""

from __future__ import annotations

from aiohttp import web

from bot.handoff_bridge import HANDOFF
from bot.keys import CONVERSATIONS, CUSTOMERS, ORDERS, TICKETS
from conversations.exceptions import CustomerMerged, InvalidProfile, SameCustomer, UnknownCustomer
from conversations.models import Tier
from conversations.profile import (
    MAX_CONTACT_CHARS,
    MAX_NAME_CHARS,
    MAX_PREFERENCE_VALUE_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    checked_changes,
)
from staff.auth import Role, require_role, staff_access
from staff.customer_panel import PanelSources, customer_panel
from staff.keys import STAFF
from web.exceptions import BadRequest, Conflict, NotFound, PayloadTooLarge
from web.http import read_json_object, text_field
from web.openapi import documented, obj, string

MAX_QUERY_CHARS = 200
MAX_MERGE_NOTE_CHARS = 2000
AGENT = staff_access(Role.AGENT)

routes = web.RouteTableDef()


class MergedConflict(Conflict):
    """409 for a record that lives on as another; the body's message names it."""

    def __init__(self, exc: CustomerMerged) -> None:
        super().__init__(f"customer {exc.customer_id} was merged into {exc.into}: use that one", "merged")


def _sources(app: web.Application) -> PanelSources:
    return PanelSources(app[CUSTOMERS], app[CONVERSATIONS], app[TICKETS], app[HANDOFF].store, app.get(ORDERS))


@routes.get("/api/v1/customers")
@documented(AGENT, "Search customer records", query={"q": string(max_length=MAX_QUERY_CHARS)})
async def search_customers(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.AGENT)
    query = text_field(dict(request.query), "q", MAX_QUERY_CHARS)
    found = await request.app[CUSTOMERS].search(query)
    return web.json_response({"customers": [c.to_dict() for c in found]})


@routes.get("/api/v1/customers/{customer_id}")
@documented(AGENT, "A customer's record, as the panel shows it")
async def read_customer(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.AGENT)
    customer_id = request.match_info["customer_id"]
    try:
        panel = await customer_panel(_sources(request.app), customer_id)
    except UnknownCustomer as exc:
        raise NotFound(f"unknown customer {customer_id}") from exc
    return web.json_response(panel)


@routes.patch("/api/v1/customers/{customer_id}")
@documented(
    AGENT,
    "Edit a customer record",
    body={
        **obj(
            display_name=string(max_length=MAX_NAME_CHARS),
            tier=string(enum=[t.value for t in Tier]),
            tags={"type": "array", "items": string(max_length=MAX_TAG_CHARS), "maxItems": MAX_TAGS},
            preferences={"type": "object", "additionalProperties": string(max_length=MAX_PREFERENCE_VALUE_CHARS)},
            email=string(max_length=MAX_CONTACT_CHARS),
            phone=string(max_length=MAX_CONTACT_CHARS),
        ),
        "additionalProperties": False,
    },
)
async def edit_customer(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.AGENT)
    customer_id = request.match_info["customer_id"]
    data = await read_json_object(request)
    try:
        changes = checked_changes(data)
    except InvalidProfile as exc:
        if exc.too_long:
            raise PayloadTooLarge(str(exc)) from exc
        raise BadRequest(str(exc), f"bad_{exc.field}") from exc
    try:
        customer = await request.app[CUSTOMERS].update(customer_id, changes)
    except UnknownCustomer as exc:
        raise NotFound(f"unknown customer {customer_id}") from exc
    except CustomerMerged as exc:
        raise MergedConflict(exc) from exc
    return web.json_response({"customer": customer.to_dict()})


@routes.post("/api/v1/customers/{customer_id}/merge")
@documented(
    AGENT,
    "Merge this record into another",
    body=obj(into=string(max_length=MAX_QUERY_CHARS), note=string(max_length=MAX_MERGE_NOTE_CHARS), required=["into"]),
)
async def merge_customer(request: web.Request) -> web.Response:
    """Moves this record (its identities, conversations and tickets) into `into`, which lives on."""
    member = await require_role(request, request.app[STAFF], Role.AGENT)
    source = request.match_info["customer_id"]
    data = await read_json_object(request)
    into = text_field(data, "into", MAX_QUERY_CHARS)
    note = text_field(data, "note", MAX_MERGE_NOTE_CHARS, required=False)
    records = request.app[CUSTOMERS]
    try:
        merge = await records.merge(source, into, actor=member.username, note=note)
    except SameCustomer as exc:
        raise BadRequest("a customer cannot be merged into itself", "same_customer") from exc
    except UnknownCustomer as exc:
        raise NotFound(f"unknown customer {exc.customer_id}") from exc
    except CustomerMerged as exc:
        raise MergedConflict(exc) from exc
    return web.json_response({"merge": merge.to_dict(), "customer": (await records.get(into)).to_dict()})


def setup_customers(app: web.Application) -> None:
    app.add_routes(routes)


__all__ = ["routes", "setup_customers"]
