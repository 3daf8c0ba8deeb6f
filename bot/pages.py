"""Server-rendered pages: the demo chat at `/` and the staff login. Static assets live in bot/static/."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"

routes = web.RouteTableDef()


@routes.get("/")
async def demo_chat(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "demo.html", headers=SECURITY_HEADERS)


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

routes.static("/static", STATIC_DIR)
