"""The supervisors' analytics page, `/console/analytics` (static/analytics.html): its data comes from the analytics
JSON API (`/api/v1/analytics/*`, staff/analytics_api.py); this module only serves the page."""

from __future__ import annotations

from aiohttp import web

from staff.auth import Role
from staff.pages import role_page

routes = web.RouteTableDef()


@routes.get("/console/analytics")
async def analytics_page(request: web.Request) -> web.StreamResponse:
    return await role_page(request, Role.SUPERVISOR, "analytics.html")


def setup_analytics_page(app: web.Application) -> None:
    app.add_routes(routes)


__all__ = ["setup_analytics_page"]
