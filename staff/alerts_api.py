"""The staff alerts API behind the page shell's bell (static/shell.js): a member lists their alerts and marks them
read. Any logged-in member may call it, and only ever sees the alerts addressed to them or to a role they hold.

Titles are translated here, in the language the staff page uses (`staff.shell.request_language`), and in every
language as `titles`, so the page's language switch needs no new request. Handlers stay thin: `alerts.AlertStore`
holds the rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from alerts import MAX_LIMIT, AlertStore
from bot.keys import DATABASE
from staff.auth import Role, StaffMember, require_member, staff_access
from staff.keys import ALERTS, STAFF
from staff.shell import request_language
from web.exceptions import BadRequest
from web.http import int_param, read_json_object
from web.openapi import documented, integer, nullable, obj, string

# The most ids one request may mark read (the bell shows far fewer).
MAX_IDS = 500
LIST_LIMIT = 20  # what the bell shows when the page does not say

routes = web.RouteTableDef()


def alert_roles(member: StaffMember) -> list[str]:
    """The roles whose alerts reach `member`: every role they act in (a supervisor also hears what agents hear)."""
    return [role.value for role in Role if member.has(role)]


def _flag(raw: str, name: str) -> bool:
    if raw in ("", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise BadRequest(f"'{name}' must be 1 or 0", f"bad_{name}")


def _ids(raw: Any) -> list[int] | None:
    """None (absent or null): every unread alert; otherwise a list of alert ids (integers)."""
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or len(raw) > MAX_IDS
        or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in raw)
    ):
        raise BadRequest(f"'ids' must be a list of at most {MAX_IDS} alert ids (positive integers)", "bad_ids")
    return raw


@routes.get("/api/v1/staff/alerts")
@documented(
    staff_access(),
    "List my alerts",
    query={"unread": string(enum=("", "0", "1")), "limit": integer(minimum=1, maximum=MAX_LIMIT)},
)
async def list_alerts(request: web.Request) -> web.Response:
    """`{alerts: [alert…], unread: n}`, newest first; `?unread=1` lists only unread ones, `?limit=` (1–200, 20)."""
    member = await require_member(request, request.app[STAFF])
    unread_only = _flag(request.query.get("unread", ""), "unread")
    limit = int_param(request.query.get("limit"), "limit", LIST_LIMIT, 1, MAX_LIMIT)
    store, roles = request.app[ALERTS], alert_roles(member)
    alerts = await store.for_member(member.username, roles, unread_only=unread_only, limit=limit)
    unread = await store.unread_count(member.username, roles)
    language = request_language(request)
    return web.json_response({"alerts": [alert.to_dict(language) for alert in alerts], "unread": unread})


@routes.post("/api/v1/staff/alerts/read")
@documented(
    staff_access(),
    "Mark alerts read",
    body=obj(ids=nullable({"type": "array", "items": integer(minimum=1), "maxItems": MAX_IDS})),
)
async def mark_read(request: web.Request) -> web.Response:
    """Body `{ids?: [id…]}` (no ids: all unread) → `{marked: n, unread: n}`; ids not the member's are ignored."""
    member = await require_member(request, request.app[STAFF])
    ids = _ids((await read_json_object(request)).get("ids"))
    store, roles = request.app[ALERTS], alert_roles(member)
    marked = await store.mark_read(member.username, roles, ids)
    return web.json_response({"marked": marked, "unread": await store.unread_count(member.username, roles)})


async def _alert_store(app: web.Application) -> AsyncIterator[None]:
    store = AlertStore(app[DATABASE])
    app[ALERTS] = store
    # Each start clears what no one can see any more; cheap, and safe for replicas starting together.
    await store.prune()
    yield


def setup_alerts(app: web.Application) -> None:
    app.cleanup_ctx.append(_alert_store)
    app.add_routes(routes)


__all__ = ["alert_roles", "routes", "setup_alerts"]
