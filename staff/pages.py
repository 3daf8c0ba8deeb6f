"""Staff login and logout. The console and the editor redirect here; customers never log in."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from bot.keys import SETTINGS
from staff.auth import SESSION_COOKIE, SESSION_TTL_S
from staff.keys import STAFF
from web.http import SECURITY_HEADERS

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

routes = web.RouteTableDef()


def safe_next(value: str) -> str:
    """Only same-site paths: an open redirect would let a phishing link borrow our login page."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/console"


@routes.get("/login")
async def login_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "login.html", headers=SECURITY_HEADERS)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", "/console")))
    token = await request.app[STAFF].login(username, password) if username and password else None
    if token is None:
        log.info("failed staff login for %r", username[:64])
        raise web.HTTPSeeOther(f"/login?error=1&next={quote(next_path)}")
    response = web.HTTPSeeOther(next_path)
    secure = request.app[SETTINGS].effective_public_url.startswith("https://")
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_TTL_S, httponly=True, samesite="Strict", secure=secure, path="/"
    )
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await request.app[STAFF].logout(token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


routes.static("/staff/static", STATIC_DIR)
