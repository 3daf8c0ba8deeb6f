"""CSRF: a cookie alone never changes staff state. Every state-changing staff request needs the session's token
(`X-CSRF-Token`, from the readable `fd_csrf` cookie), with or without an `Origin`; login and logout refuse a foreign
Origin; the console socket refuses one (browsers always send it on a WebSocket handshake)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from kb.settings import KBConfig
from server.app import Program, create_app
from staff.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, Role, csrf_token
from staff.keys import STAFF

Client = TestClient  # type: ignore[type-arg]
MARK_READ = "/api/v1/staff/alerts/read"
FOREIGN = {"Origin": "https://evil.example"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    settings = Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=KBConfig(seed_demo=False, preload=False))
    app = create_app(settings, [Program.STAFF])
    async with TestClient(TestServer(app)) as client:
        await app[STAFF].add("ann", "ann-pw", [Role.AGENT])
        yield client


def cookie(client: Client, name: str) -> str:
    return next((c.value for c in client.session.cookie_jar if c.key == name), "")


async def log_in(client: Client, **kwargs: object) -> aiohttp.ClientResponse:
    form = {"username": "ann", "password": "ann-pw"}
    return await client.post("/login", data=form, allow_redirects=False, **kwargs)  # type: ignore[arg-type]


async def test_login_sets_a_readable_csrf_cookie_tied_to_the_session(client: Client) -> None:
    response = await log_in(client)
    set_cookies = response.headers.getall("Set-Cookie")
    csrf = next(c for c in set_cookies if c.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf
    assert cookie(client, CSRF_COOKIE) == csrf_token(cookie(client, SESSION_COOKIE))
    me = await (await client.get("/api/v1/staff/me")).json()
    assert me["csrf_token"] == cookie(client, CSRF_COOKIE)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a valid cookie and no Origin: not enough
        {"Origin": "SAME"},  # our own origin, but no token
        {CSRF_HEADER: "0" * 64},  # a wrong token
        {CSRF_HEADER: "ünïcode"},  # not even ASCII: still a plain 403
    ],
)
async def test_a_state_change_without_the_sessions_token_is_refused(client: Client, headers: dict[str, str]) -> None:
    await log_in(client)
    if headers.get("Origin") == "SAME":
        headers = {"Origin": str(client.make_url("")).rstrip("/")}
    response = await client.post(MARK_READ, json={}, headers=headers)
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "csrf"


async def test_the_sessions_token_lets_the_change_through(client: Client) -> None:
    await log_in(client)
    response = await client.post(MARK_READ, json={}, headers={CSRF_HEADER: cookie(client, CSRF_COOKIE)})
    assert response.status == 200
    # Another session's token is not this one's.
    other = await client.post(MARK_READ, json={}, headers={CSRF_HEADER: csrf_token("another-session")})
    assert other.status == 403


async def test_a_foreign_origin_is_refused_even_with_the_token(client: Client) -> None:
    await log_in(client)
    headers = {CSRF_HEADER: cookie(client, CSRF_COOKIE), **FOREIGN}
    assert (await client.post(MARK_READ, json={}, headers=headers)).status == 403


async def test_login_and_logout_refuse_a_foreign_origin(client: Client) -> None:
    refused = await log_in(client, headers=FOREIGN)
    assert refused.status == 403 and cookie(client, SESSION_COOKIE) == ""
    assert (await log_in(client, headers={"Origin": "null"})).status == 403  # a sandboxed frame
    assert (await log_in(client, headers={"Origin": str(client.make_url("")).rstrip("/")})).status == 303
    assert (await client.post("/logout", headers=FOREIGN, allow_redirects=False)).status == 403
    assert (await client.get("/api/v1/staff/me")).status == 200  # still logged in
    assert (await client.post("/logout", allow_redirects=False)).status == 303
    assert (await client.get("/api/v1/staff/me")).status == 401


async def test_a_staff_page_gives_a_session_from_before_its_csrf_cookie(client: Client) -> None:
    await log_in(client)
    client.session.cookie_jar.clear(lambda c: c.key == CSRF_COOKIE)
    assert (await client.get("/console")).status == 200
    assert cookie(client, CSRF_COOKIE) == csrf_token(cookie(client, SESSION_COOKIE))


async def test_the_console_socket_refuses_a_foreign_origin(client: Client) -> None:
    await log_in(client)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/api/v1/console/ws", headers=FOREIGN)
    assert refused.value.status == 403
