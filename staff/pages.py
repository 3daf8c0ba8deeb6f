"""Staff login and logout, the `/staff` home (each member's first page by role) and `/api/v1/staff/me`, which the
page shell (static/shell.js) draws its navigation from. Customers never log in.

Login and logout refuse a foreign `Origin` (login CSRF: a session planted by another site). Failed logins are
counted per username and per address (`staff.login_limits`); a locked-out attempt is the login page again with
status 429 and `Retry-After`, and says how long to wait. Every staff page and `/me` (re)set the readable `fd_csrf`
cookie the pages send back as `X-CSRF-Token` (`staff.auth.check_csrf`)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from bot.keys import RATE_LIMITER, SETTINGS
from staff.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL_S,
    Role,
    csrf_token,
    current_member,
    same_origin,
    staff_access,
)
from staff.keys import STAFF
from staff.login_limits import LoginGuard
from staff.shell import home_for, pages_for
from web.exceptions import Forbidden, NotAuthorised
from web.http import SECURITY_HEADERS
from web.openapi import documented
from web.rate_limits import client_address

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
    response = web.FileResponse(STATIC_DIR / file, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})
    set_csrf_cookie(request, response)
    return response


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].effective_public_url.startswith("https://")


def set_csrf_cookie(request: web.Request, response: web.StreamResponse, session: str | None = None) -> None:
    """The `fd_csrf` cookie of the request's session (or of `session`, just made): our pages read it (so it is not
    HttpOnly) and send it back as `X-CSRF-Token`. Nothing when there is no session."""
    token = session or request.cookies.get(SESSION_COOKIE)
    if token:
        response.set_cookie(
            CSRF_COOKIE,
            csrf_token(token),
            max_age=SESSION_TTL_S,
            httponly=False,
            samesite="Strict",
            secure=_secure(request),
            path="/",
        )


def forbidden_page(role: Role) -> web.Response:
    """403 as a staff page: the shell's menu (the member's own pages), which role this page needs, a way home."""
    html = (STATIC_DIR / "forbidden.html").read_text(encoding="utf-8").replace("{role}", role.value)
    return web.Response(
        status=403, text=html, content_type="text/html", headers={**SECURITY_HEADERS, "Cache-Control": "no-store"}
    )


@routes.get("/api/v1/staff/me")
@documented(staff_access(), "Who is logged in, their pages and CSRF token")
async def me(request: web.Request) -> web.Response:
    """`{username, display_name, roles, home, pages: [{key, path, label}], csrf_token}` for the page shell (the
    token is the `fd_csrf` cookie's value, for clients without a cookie jar); 401 when logged out."""
    member = await current_member(request, request.app[STAFF])
    if member is None:
        raise NotAuthorised("log in first")
    response = web.json_response(
        {
            "username": member.username,
            "display_name": member.display_name,
            "roles": sorted(role.value for role in member.roles),
            "home": home_for(member),
            "pages": [{"key": p.key, "path": p.path, "label": p.label} for p in pages_for(member)],
            "csrf_token": csrf_token(request.cookies[SESSION_COOKIE]),
        }
    )
    set_csrf_cookie(request, response)
    return response


def safe_next(value: str) -> str:
    """Only same-site paths: an open redirect would let a phishing link borrow our login page."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else HOME_PATH


@routes.get("/login")
async def login_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "login.html", headers=SECURITY_HEADERS)


def _check_origin(request: web.Request) -> None:
    if not same_origin(request, request.app[SETTINGS].effective_public_url):
        log.warning("%s %s from a foreign origin %r refused", request.method, request.path, request.headers["Origin"])
        raise Forbidden("cross-origin request refused")


def locked_out_page(retry_after_s: int) -> web.Response:
    """429: the login page, saying (in the reader's language) how many minutes to wait."""
    html = (STATIC_DIR / "login.html").read_text(encoding="utf-8")
    html = html.replace('data-retry-after=""', f'data-retry-after="{retry_after_s}"')
    return web.Response(
        status=429,
        text=html,
        content_type="text/html",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store", "Retry-After": str(retry_after_s)},
    )


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    _check_origin(request)
    settings = request.app[SETTINGS]
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    next_path = safe_next(str(form.get("next", HOME_PATH)))
    if not (username and password):
        raise web.HTTPSeeOther(f"/login?error=1&next={quote(next_path)}")
    guard = LoginGuard(request.app[RATE_LIMITER], settings.limits)
    address = client_address(request, settings.limits.proxy_hops)
    wait_s = await guard.locked_for_s(username, address)
    if wait_s:
        log.warning("staff login of %r from %s refused: locked out for %d s", username[:64], address, wait_s)
        return locked_out_page(wait_s)
    token = await request.app[STAFF].login(username, password)
    if token is None:
        await guard.failed(username, address)
        log.info("failed staff login for %r from %s", username[:64], address)
        raise web.HTTPSeeOther(f"/login?error=1&next={quote(next_path)}")
    await guard.succeeded(username)
    response = web.HTTPSeeOther(next_path)
    secure = _secure(request)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=SESSION_TTL_S, httponly=True, samesite="Strict", secure=secure, path="/"
    )
    set_csrf_cookie(request, response, token)
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    _check_origin(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await request.app[STAFF].logout(token)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    response.del_cookie(CSRF_COOKIE, path="/")
    raise response


routes.static("/staff/static", STATIC_DIR)
