"""Analytics for supervisors: the dashboard page and its JSON and CSV endpoints.

`GET /api/v1/analytics/report` (the report), `/drill` (the conversations or tickets behind a number) and
`/export.csv?table=…` (a table of the report, or the raw rows of the range), all supervisor only. Handlers are thin:
they parse the parameters (`analytics.query.parse_query`, `analytics.drill.parse_drill`; a bad one is a 400 with its
code, never a 500), gather the names the report shows (teams, agents, FAQ titles) and call one function of the
`analytics` package, which reads the facts tables only.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from analytics.drill import DRILL_PARAMETERS, drill, parse_drill
from analytics.exceptions import InvalidReportQuery
from analytics.export import RAW_TABLES, TABLES, export_csv, filename
from analytics.query import RANGE_PARAMETERS, ReportQuery, parse_query
from analytics.report import Names, build_report
from analytics.tables import FILTER_DIMENSIONS
from bot.keys import DATABASE, INTAKE, SETTINGS, TICKETS
from kb.store import FAQStore
from staff.auth import Role, require_role, staff_access
from staff.keys import STAFF
from staff.pages import role_page
from staff.teams_api import agents_of
from web.exceptions import BadRequest
from web.openapi import documented, string

routes = web.RouteTableDef()
SUPERVISOR = staff_access(Role.SUPERVISOR)
# The report's parameters (`analytics.query.parse_query`): a date range and one value per filter dimension.
REPORT_QUERY = {
    **{name: string(format="date") for name in RANGE_PARAMETERS},
    **{name: string(max_length=200) for name in FILTER_DIMENSIONS},
}


@routes.get("/console/analytics")
async def analytics_page(request: web.Request) -> web.StreamResponse:
    return await role_page(request, Role.SUPERVISOR, "analytics.html")


async def _query(request: web.Request, extra: Collection[str] = ()) -> tuple[ReportQuery, dict[str, str]]:
    """The supervisor's query and the flat parameters; 400 for a repeated or bad parameter."""
    await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    params = request.query
    if len(set(params.keys())) != len(params):
        raise BadRequest("each parameter may be given once", "repeated_parameter")
    flat = dict(params)
    tz = request.app[SETTINGS].analytics.timezone
    try:
        query = parse_query(flat, today=dt.datetime.now(ZoneInfo(tz)).date(), tz=tz, extra=extra)
    except InvalidReportQuery as exc:
        raise BadRequest(str(exc), exc.code) from exc
    return query, flat


async def _names(request: web.Request) -> Names:
    teams = await request.app[TICKETS].teams.all()
    agents = await agents_of(request.app[STAFF])
    store = FAQStore(request.app[DATABASE])

    async def titles(ids: Sequence[str]) -> Mapping[str, str]:
        found = {i: await store.find(i) for i in ids}
        return {i: entry.question for i, entry in found.items() if entry is not None}

    return Names(
        teams={t.id: t.name for t in teams},
        agents={a["username"]: a["display_name"] for a in agents},
        entry_titles=titles,
    )


async def report_of(request: web.Request, query: ReportQuery) -> dict[str, Any]:
    """The dashboard's report of `query` (also the weekly report's and the breach check's code path)."""
    policy = request.app[INTAKE].sla_policy()
    return await build_report(request.app[DATABASE], query, await _names(request), policy, time.time())


@routes.get("/api/v1/analytics/report")
@documented(SUPERVISOR, "The dashboard's report", query=REPORT_QUERY)
async def report(request: web.Request) -> web.Response:
    query, _ = await _query(request)
    return web.json_response(await report_of(request, query))


@routes.get("/api/v1/analytics/drill")
@documented(
    SUPERVISOR, "The rows behind a number", query={**REPORT_QUERY, **{name: string() for name in DRILL_PARAMETERS}}
)
async def drill_down(request: web.Request) -> web.Response:
    query, params = await _query(request, DRILL_PARAMETERS)
    try:
        ask = parse_drill(params, query)
    except InvalidReportQuery as exc:
        raise BadRequest(str(exc), exc.code) from exc
    return web.json_response(await drill(request.app[DATABASE], query, ask, time.time()))


@routes.get("/api/v1/analytics/export.csv")
@documented(
    SUPERVISOR,
    "One table as CSV",
    query={**REPORT_QUERY, "table": string(enum=TABLES)},
    media_type="text/csv",
)
async def export(request: web.Request) -> web.StreamResponse:
    query, params = await _query(request, ("table",))
    table = params.get("table", "")
    if table not in TABLES:
        raise BadRequest(f"'table' must be one of {', '.join(TABLES)}", "bad_table")
    report_json = None if table in RAW_TABLES else await report_of(request, query)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename(table, query)}"',
        }
    )
    await response.prepare(request)
    async for chunk in export_csv(request.app[DATABASE], table, query, report_json):
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


def setup_analytics(app: web.Application) -> None:
    app.add_routes(routes)


__all__ = ["report_of", "routes", "setup_analytics"]
