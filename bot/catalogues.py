"""Serves the message catalogues browser code translates with: `GET /i18n/{domain}/{language}.json`.

Owns only the route; the catalogues and their loading live in the `i18n` package. Serves the `widget` (demo chat
page) and `staff` (login, console, supervisor, editor) domains, never the Python `messages` domain. Same-origin
pages only: the embeddable widget gets its catalogue inside `/widget.js` (bot/widget.py).
"""

from __future__ import annotations

from aiohttp import web

from i18n import STAFF, WIDGET, catalogue_json, language_of

BROWSER_DOMAINS = frozenset({WIDGET, STAFF})
CATALOGUE_MAX_AGE_S = 300

routes = web.RouteTableDef()


@routes.get("/i18n/{domain}/{language}.json")
async def catalogue(request: web.Request) -> web.Response:
    domain = request.match_info["domain"]
    if domain not in BROWSER_DOMAINS:
        raise web.HTTPNotFound()
    return web.Response(
        text=catalogue_json(language_of(request.match_info["language"]), domain),
        content_type="application/json",
        headers={"Cache-Control": f"public, max-age={CATALOGUE_MAX_AGE_S}", "X-Content-Type-Options": "nosniff"},
    )


def setup_catalogues(app: web.Application) -> None:
    """Mounts `/i18n/{domain}/{language}.json`."""
    app.add_routes(routes)


__all__ = ["BROWSER_DOMAINS", "setup_catalogues"]
