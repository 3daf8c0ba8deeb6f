from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backends.sql import Database
from bot.settings import Settings
from server.app import create_app
from staff.auth import Role, StaffDirectory, hash_password, verify_password
from staff.keys import STAFF
from staff.pages import safe_next


def test_passwords_are_salted_and_verified() -> None:
    stored = hash_password("s3cret")
    assert stored != hash_password("s3cret")
    assert verify_password("s3cret", stored)
    assert not verify_password("wrong", stored)
    assert not verify_password("s3cret", "garbage")


async def test_login_gives_a_session_only_for_the_right_password(database: Database) -> None:
    directory = StaffDirectory(database)
    await directory.add("ann", "pw", [Role.AGENT])
    assert await directory.login("ann", "nope") is None
    assert await directory.login("ghost", "pw") is None
    token = await directory.login("ann", "pw")
    assert token is not None
    member = await directory.member_for_session(token)
    assert member is not None and member.has(Role.AGENT) and not member.has(Role.EDITOR)
    await directory.logout(token)
    assert await directory.member_for_session(token) is None


def test_roles_nest_supervisor_over_agent_and_admin_over_all() -> None:
    from staff.auth import StaffMember

    supervisor = StaffMember("s", "S", frozenset({Role.SUPERVISOR}))
    admin = StaffMember("a", "A", frozenset({Role.ADMIN}))
    assert supervisor.has(Role.AGENT) and not supervisor.has(Role.EDITOR)
    assert admin.has(Role.EDITOR) and admin.has(Role.SUPERVISOR)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/editor", "/editor"),
        ("//evil.example", "/staff"),
        ("https://evil.example", "/staff"),
        ("/\\x", "/staff"),
    ],
)
def test_login_redirects_stay_on_this_site(value: str, expected: str) -> None:
    assert safe_next(value) == expected


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9"))
    async with TestClient(TestServer(app)) as client:
        await app[STAFF].add("eve", "pw", [Role.EDITOR])
        yield client


async def test_the_login_form_sets_an_httponly_strict_cookie(client: TestClient) -> None:  # type: ignore[type-arg]
    response = await client.post(
        "/login", data={"username": "eve", "password": "pw", "next": "/editor"}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/editor"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    bad = await client.post("/login", data={"username": "eve", "password": "x"}, allow_redirects=False)
    assert bad.status == 303 and "error=1" in bad.headers["Location"]


async def test_chat_api_rejects_bad_requests_without_a_server_error(client: TestClient) -> None:  # type: ignore[type-arg]
    assert (await client.post("/api/v1/conversations", data=b"{")).status == 400
    assert (await client.post("/api/v1/conversations", json={"language": "fr"})).status == 400
    assert (await client.post("/api/v1/conversations", json={"visitor_token": "short"})).status == 400
    started = await client.post("/api/v1/conversations", json={})
    assert started.status == 201
    assert (
        await client.get("/api/v1/conversations/conv_x/messages", headers={"Authorization": "Bearer x"})
    ).status == 404
    assert (await client.post("/api/v1/conversations", data=b"x" * 70_000)).status == 413
