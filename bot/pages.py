"""The demo chat page at `/` and the customer-side static assets (bot/static/ at /static/)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from web.http import SECURITY_HEADERS

STATIC_DIR = Path(__file__).parent / "static"

routes = web.RouteTableDef()


@routes.get("/")
async def demo_chat(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "demo.html", headers=SECURITY_HEADERS)


routes.static("/static", STATIC_DIR)
