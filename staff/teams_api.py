"""Teams (departments) for staff: the supervisor's page and the JSON API to list, read, create or replace, and
delete a team — its name, skills, lead, members and SLA targets per priority (overriding the policy's).

Agents may read teams (the ticket pages name them and offer transfers); only supervisors change them. Handlers are
thin: they check the body and call `intake.teams.TeamStore` (reached as the ticket store's `teams`). A team that
still owns open tickets is not deleted (409 `team_in_use`): its tickets would lose their clocks' targets.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.keys import TICKETS
from handoff.profiles import ALL_SKILLS
from intake.exceptions import InvalidSettings
from intake.models import OPEN_STATUSES
from intake.teams import Team, parse_targets
from intake.tickets import TicketFilter
from staff.auth import Role, StaffDirectory, require_role, staff_access
from staff.keys import STAFF
from staff.pages import role_page
from web.exceptions import BadRequest, Conflict, NotFound
from web.http import read_json_object, text_field
from web.openapi import STRINGS, documented, nullable, obj, string

# The skills a team may cover: handoff's skill groups (one per ticket category) and the general queue.
TEAM_SKILLS = ("general", *ALL_SKILLS)

routes = web.RouteTableDef()


@routes.get("/console/teams")
async def teams_page(request: web.Request) -> web.StreamResponse:
    return await role_page(request, Role.SUPERVISOR, "teams.html")


async def agents_of(directory: StaffDirectory) -> list[dict[str, str]]:
    """Staff who may work tickets, as [{username, display_name}] by username."""
    members = await directory.members()
    return [
        {"username": m.username, "display_name": m.display_name}
        for m in sorted(members, key=lambda m: m.username)
        if m.has(Role.AGENT)
    ]


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{name}' must be a list of strings", f"bad_{name}")
    return value


async def team_from(request: web.Request, team_id: str, data: dict[str, Any]) -> Team:
    """The team a PUT body describes: {name, skills, lead, members, targets: {priority: "4/24" | "4/24/2"}}.
    400 for an unknown skill, a lead or member who is not an agent, or bad targets."""
    name = text_field(data, "name", 80)
    skills = _strings(data, "skills")
    unknown = sorted(set(skills) - set(TEAM_SKILLS))
    if unknown:
        raise BadRequest(f"unknown skills {unknown}: use {', '.join(TEAM_SKILLS)}", "bad_skills")
    members = _strings(data, "members")
    lead = data.get("lead") or None
    if lead is not None and not isinstance(lead, str):
        raise BadRequest("'lead' must be a username or null", "bad_lead")
    agents = {a["username"] for a in await agents_of(request.app[STAFF])}
    strangers = sorted({*members, *([lead] if lead else [])} - agents)
    if strangers:
        raise BadRequest(f"not agents here: {strangers[:5]}", "unknown_member")
    targets = data.get("targets", {})
    if not isinstance(targets, dict) or not all(isinstance(v, str) for v in targets.values()):
        raise BadRequest("'targets' must map each priority to hours as text, like urgent: 1/4", "bad_targets")
    try:
        return Team(
            id=team_id,
            name=name,
            skills=tuple(dict.fromkeys(skills)),
            lead=lead,
            members=tuple(sorted(set(members))),
            targets=parse_targets(targets),
        )
    except InvalidSettings as exc:
        raise BadRequest(str(exc), "invalid_team") from exc


@routes.get("/api/v1/teams")
@documented(staff_access(Role.AGENT), "Teams, skills, agents and the default SLA targets")
async def list_teams(request: web.Request) -> web.Response:
    """`{teams, skills, agents, defaults: {priority: "4/24"}}` (defaults: the policy's targets a team may override)."""
    await require_role(request, request.app[STAFF], Role.AGENT)
    store = request.app[TICKETS]
    return web.json_response(
        {
            "teams": [team.to_dict() for team in await store.teams.all()],
            "skills": list(TEAM_SKILLS),
            "agents": await agents_of(request.app[STAFF]),
            "defaults": {p.value: str(target) for p, target in store.policy.targets.items()},
        }
    )


@routes.get("/api/v1/teams/{team_id}")
@documented(staff_access(Role.AGENT), "Read a team")
async def read_team(request: web.Request) -> web.Response:
    await require_role(request, request.app[STAFF], Role.AGENT)
    team = await request.app[TICKETS].teams.get(request.match_info["team_id"])
    if team is None:
        raise NotFound("no such team")
    return web.json_response({"team": team.to_dict()})


@routes.put("/api/v1/teams/{team_id}")
@documented(
    staff_access(Role.SUPERVISOR),
    "Create or replace a team",
    body=obj(
        name=string(max_length=80),
        skills={"type": "array", "items": string(enum=TEAM_SKILLS)},
        lead=nullable(string()),
        members=STRINGS,
        targets={"type": "object", "additionalProperties": string()},
        required=["name"],
    ),
)
async def put_team(request: web.Request) -> web.Response:
    """Create or replace the team (supervisor); see `team_from` for the body."""
    await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    data = await read_json_object(request)
    team = await team_from(request, request.match_info["team_id"], data)
    saved = await request.app[TICKETS].teams.put(team)
    return web.json_response({"team": saved.to_dict()})


@routes.delete("/api/v1/teams/{team_id}")
@documented(staff_access(Role.SUPERVISOR), "Delete a team that owns no open ticket")
async def delete_team(request: web.Request) -> web.Response:
    """Supervisor; 404 for an unknown team, 409 `team_in_use` while it owns open tickets."""
    await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    team_id = request.match_info["team_id"]
    store = request.app[TICKETS]
    if await store.teams.get(team_id) is None:
        raise NotFound("no such team")
    owned = await store.count(TicketFilter(team_ids=[team_id], statuses=list(OPEN_STATUSES)))
    if owned:
        raise Conflict(f"the team still owns {owned} open tickets: transfer them first", "team_in_use")
    await store.teams.delete(team_id)
    return web.json_response({"deleted": team_id})


def setup_teams(app: web.Application) -> None:
    app.add_routes(routes)


__all__ = ["TEAM_SKILLS", "agents_of", "routes", "setup_teams", "team_from"]
