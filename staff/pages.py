"""Staff login and logout, the `/staff` home (each member's first page by role) and `/api/v1/staff/me`, which the
page shell (static/shell.js) draws its navigation from. Customers never log in."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from bot.keys import SETTINGS
from staff.auth import SESSION_COOKIE, SESSION_TTL_S, Role, current_member
from staff.keys import STAFF
from staff.shell import home_for, pages_for
from web.exceptions import NotAuthorised
from web.http import SECURITY_HEADERS

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

HOME_PATH = "/staff"

routes = web.RouteTableDef()


@routes.get(HOME_PATH)
async def staff_home(request: web.Request) -> web.StreamResponse:
    """Each member lands on their own first page: an editor never meets the console's 403."""
    member = await current_member(request, request.app[STAFF])
    if member is None:
        raise web.HTTPSeeOther(f"/login?next={quote(HOME_PATH)}")
    home = home_for(member)
    if home is None:
        return web.Response(status=403, text="This account has no staff role.", headers=SECURITY_HEADERS)
    raise web.HTTPSeeOther(home)


async def role_page(request: web.Request, role: Role, file: str) -> web.StreamResponse:
    """A static page of `STATIC_DIR` for members with `role`: a stranger is sent to log in (and back), anyone else
    without the role gets 403."""
    member = await current_member(request, request.app[STAFF])
    if member is None:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path)}")
    if not member.has(role):
        return forbidden_page(role)
    return web.FileResponse(STATIC_DIR / file, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def forbidden_page(role: Role) -> web.Response:
    """403 as a staff page: the shell's menu (the member's own pages), which role this page needs, a way home."""
    html = (STATIC_DIR / "forbidden.html").read_text(encoding="utf-8").replace("{role}", role.value)
    return web.Response(
        status=403, text=html, content_type="text/html", headers={**SECURITY_HEADERS, "Cache-Control": "no-store"}
    )


@routes.get("/api/v1/staff/me")
async def me(request: web.Request) -> web.Response:
    """`{username, display_name, roles, home, pages: [{key, path, label}]}` for the page shell; 401 when logged out."""
    member = await current_member(request, request.app[STAFF])
    if member is None:
        raise NotAuthorised("log in first")
    return web.json_response(
        {
            "username": member.username,
            "display_name": member.display_name,
            "roles": sorted(role.value for role in member.roles),
            "home": home_for(member),
            "pages": [{"key": p.key, "path": p.path, "label": p.label} for p in pages_for(member)],
        }
    )


def safe_next(value: str) -> str:
    """Only same-site paths: an open redirect would let a phishing link borrow our login page."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else HOME_PATH


@routes.get("/login")
async def login_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "login.html", headers=SECURITY_HEADERS)


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", HOME_PATH)))
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
