"""The page shell: each role lands on its own page and is offered only the pages it may open."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.settings import Settings
from server.app import Program, create_app
from staff.auth import Role, StaffMember
from staff.keys import STAFF
from staff.shell import STAFF_PAGES, home_for, pages_for

ACCOUNTS = {
    "ann": [Role.AGENT],
    "sam": [Role.SUPERVISOR],
    "eve": [Role.EDITOR],
    "root": [Role.ADMIN],
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9"))
    async with TestClient(TestServer(app)) as client:
        for username, roles in ACCOUNTS.items():
            await app[STAFF].add(username, "pw", roles)
        yield client


async def log_in(client: TestClient, username: str) -> None:  # type: ignore[type-arg]
    response = await client.post("/login", data={"username": username, "password": "pw"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/staff"


@pytest.mark.parametrize(
    ("username", "home", "pages"),
    [
        ("ann", "/console", ["console", "tickets"]),
        ("sam", "/console/supervisor", ["console", "tickets", "supervisor", "teams", "analytics"]),
        ("eve", "/editor", ["editor"]),
        ("root", "/console/supervisor", ["console", "tickets", "supervisor", "teams", "analytics", "editor"]),
    ],
)
async def test_each_role_lands_on_its_home_and_sees_only_its_pages(
    client: TestClient,  # type: ignore[type-arg]
    username: str,
    home: str,
    pages: list[str],
) -> None:
    await log_in(client, username)
    landing = await client.get("/staff", allow_redirects=False)
    assert landing.status == 303 and landing.headers["Location"] == home
    me = await (await client.get("/api/v1/staff/me")).json()
    assert me["home"] == home and [p["key"] for p in me["pages"]] == pages
    for page in me["pages"]:  # no link in the navigation answers 403
        assert (await client.get(page["path"], allow_redirects=False)).status == 200


async def test_the_shell_asks_a_stranger_to_log_in(client: TestClient) -> None:  # type: ignore[type-arg]
    assert (await client.get("/api/v1/staff/me")).status == 401
    landing = await client.get("/staff", allow_redirects=False)
    assert landing.status == 303 and landing.headers["Location"].startswith("/login?next=")


def test_an_account_without_a_staff_role_has_no_home() -> None:
    assert home_for(StaffMember("x", "X", frozenset())) is None
    assert pages_for(StaffMember("x", "X", frozenset())) == []
    assert {page.role for page in STAFF_PAGES} <= set(Role)


async def test_each_program_runs_alone(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9")
    async with TestClient(TestServer(create_app(settings, {Program.CUSTOMERS}))) as customers:
        assert (await customers.post("/api/v1/conversations", json={})).status == 201
        assert (await customers.get("/login")).status == 404
        assert (await customers.get("/api/v1/staff/me")).status == 404
    async with TestClient(TestServer(create_app(settings, {Program.STAFF}))) as staff:
        assert (await staff.get("/login")).status == 200
        assert (await staff.post("/api/v1/conversations", json={})).status in (404, 405)
        assert (await staff.get("/healthz")).status in (200, 503)
