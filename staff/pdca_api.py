"""PDCA for supervisors: KPI targets, notes on the charts, and the weekly report (page and CSV).

`GET /api/v1/analytics/targets`, `PUT` / `DELETE /api/v1/analytics/targets/{kpi}` (scope as a body member or, for
DELETE, one filter parameter: `?priority=urgent`), `POST /api/v1/analytics/annotations` `{day?, text}`,
`GET /console/analytics/weekly?week=YYYY-Www` (printable HTML in the member's language) and
`GET /api/v1/analytics/weekly.csv?week=…` (UTF-8 with BOM). All supervisor only; every bad input is a 400 with a
code. Handlers are thin: `analytics.targets`, `analytics.annotations`, `analytics.weekly`, and the report of
`staff.analytics_api` (the dashboard's own, so the page, the CSV and the dashboard agree).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from aiohttp import web

from analytics.annotations import AnnotationStore
from analytics.exceptions import InvalidReportQuery, InvalidTarget
from analytics.export import export_csv
from analytics.metrics import KPIS
from analytics.tables import FILTER_DIMENSIONS
from analytics.targets import TargetStore, parse_scope, parse_target
from analytics.weekly import parse_week, week_label
from bot.keys import DATABASE, INTAKE, SETTINGS
from staff.analytics_api import SUPERVISOR, report_of
from staff.auth import Role, current_member, require_role
from staff.keys import STAFF
from staff.pages import forbidden_page
from staff.shell import request_language
from staff.weekly_page import render_weekly
from web.exceptions import BadRequest, NotFound
from web.http import SECURITY_HEADERS, read_json_object
from web.openapi import NUMBER, OBJECT, documented, obj, string

routes = web.RouteTableDef()


def _stores(request: web.Request) -> tuple[TargetStore, AnnotationStore]:
    clocks = request.app[SETTINGS].analytics.clocks(request.app[INTAKE].calendar)
    db = request.app[DATABASE]
    return TargetStore(db, clocks), AnnotationStore(db, clocks)


def _today(request: web.Request) -> dt.date:
    return dt.datetime.now(ZoneInfo(request.app[SETTINGS].analytics.timezone)).date()


@routes.get("/api/v1/analytics/targets")
@documented(SUPERVISOR, "The KPI targets")
async def list_targets(request: web.Request) -> web.Response:
    """`{targets: [{kpi, op, value, scope, unit, set_by, set_at}], kpis: [{key, unit, better}]}`."""
    await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    targets, _ = _stores(request)
    kpis = [{"key": k.key, "unit": k.unit, "better": k.better} for k in KPIS]
    return web.json_response({"targets": [t.to_dict() for t in await targets.all()], "kpis": kpis})


@routes.put("/api/v1/analytics/targets/{kpi}")
@documented(
    SUPERVISOR,
    "Set a KPI's target",
    body=obj(op=string(enum=("<=", ">=")), value=NUMBER, scope=OBJECT, required=["op", "value"]),
)
async def set_target(request: web.Request) -> web.Response:
    """Body `{op: "<=" | ">=", value, scope?: {priority: "urgent"}}` → the target as stored."""
    member = await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    body = await read_json_object(request)
    try:
        target = parse_target(request.match_info["kpi"], body)
    except InvalidTarget as exc:
        raise BadRequest(str(exc), exc.code) from exc
    targets, _ = _stores(request)
    return web.json_response((await targets.set(target, member.username)).to_dict())


@routes.delete("/api/v1/analytics/targets/{kpi}")
@documented(SUPERVISOR, "Clear a KPI's target", query={name: string(max_length=200) for name in FILTER_DIMENSIONS})
async def clear_target(request: web.Request) -> web.Response:
    member = await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    kpi = request.match_info["kpi"]
    try:
        parse_target(kpi, {"op": "<=", "value": 0})  # only the key is checked here
        scope = parse_scope(dict(request.query))
    except InvalidTarget as exc:
        raise BadRequest(str(exc), exc.code) from exc
    targets, _ = _stores(request)
    if not await targets.clear(kpi, scope, member.username):
        raise NotFound(f"no target for {kpi}")
    return web.json_response({"cleared": kpi})


@routes.post("/api/v1/analytics/annotations")
@documented(
    SUPERVISOR,
    "Note a day on the charts",
    body=obj(text=string(), day=string(format="date"), required=["text"]),
    status=201,
)
async def add_note(request: web.Request) -> web.Response:
    """Body `{text, day?: "YYYY-MM-DD"}` (day: today by default) → 201 `{at, day, kind: "note", label}`."""
    member = await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    body = await read_json_object(request)
    day: dt.date | None = None
    raw_day = body.get("day")
    if raw_day not in (None, ""):
        try:
            day = dt.date.fromisoformat(str(raw_day))
        except ValueError:
            raise BadRequest("'day' must be a date YYYY-MM-DD", "bad_date") from None
    text = body.get("text")
    if not isinstance(text, str):
        raise BadRequest("'text' must be a string", "bad_note")
    _, annotations = _stores(request)
    try:
        note = await annotations.add("note", text, member.username, day=day)
    except InvalidTarget as exc:
        raise BadRequest(str(exc), exc.code) from exc
    return web.json_response(note, status=201)


def _week(request: web.Request) -> tuple[str, dt.date]:
    """The week asked for ("2026-W48") and its Monday; 400 for a bad one or any other parameter."""
    unknown = sorted(set(request.query) - {"week", "lang"})
    if unknown:
        raise BadRequest(f"unknown parameters {unknown[:5]}", "unknown_filter")
    try:
        query = parse_week(request.query.get("week"), today=_today(request), tz="UTC")
    except InvalidReportQuery as exc:
        raise BadRequest(str(exc), exc.code) from exc
    return week_label(query.start), query.start


@routes.get("/console/analytics/weekly")
async def weekly_page(request: web.Request) -> web.StreamResponse:
    member = await current_member(request, request.app[STAFF])
    if member is None:
        raise web.HTTPSeeOther("/login?next=/console/analytics/weekly")
    if not member.has(Role.SUPERVISOR):
        return forbidden_page(Role.SUPERVISOR)
    week, monday = _week(request)
    tz = request.app[SETTINGS].analytics.timezone
    query = parse_week(week, today=monday, tz=tz)
    report = await report_of(request, query)
    html = render_weekly(
        report,
        week,
        week_label(monday - dt.timedelta(days=7)),
        week_label(monday + dt.timedelta(days=7)),
        request_language(request),
    )
    return web.Response(text=html, content_type="text/html", headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


@routes.get("/api/v1/analytics/weekly.csv")
@documented(
    SUPERVISOR,
    "A week's KPIs as CSV",
    query={"week": string(pattern=r"^\d{4}-W\d{2}$"), "lang": string(enum=("en", "zh"))},
    media_type="text/csv",
)
async def weekly_csv(request: web.Request) -> web.StreamResponse:
    """The week's KPI table (value, previous week, target, breached): the export of `table=kpis` for the week."""
    await require_role(request, request.app[STAFF], Role.SUPERVISOR)
    week, monday = _week(request)
    query = parse_week(week, today=monday, tz=request.app[SETTINGS].analytics.timezone)
    report = await report_of(request, query)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="frontdoor-weekly-{week}.csv"',
        }
    )
    await response.prepare(request)
    async for chunk in export_csv(request.app[DATABASE], "kpis", query, report):
        await response.write(chunk.encode("utf-8"))
    await response.write_eof()
    return response


def setup_pdca(app: web.Application) -> None:
    app.add_routes(routes)


__all__ = ["routes", "setup_pdca"]
