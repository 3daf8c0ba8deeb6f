"""Sessions end when a password is set and when an account is disabled (`frontdoor users disable/enable`); a
disabled member cannot log in, and enabling the account restores the old password."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from backends.sql import Database
from bot.settings import Settings
from kb.settings import KBConfig
from server.app import Program, create_app
from server.cli import main
from staff.auth import Role, StaffDirectory
from staff.keys import STAFF

Client = TestClient  # type: ignore[type-arg]


async def test_a_new_password_ends_the_members_sessions(database: Database) -> None:
    directory = StaffDirectory(database)
    await directory.add("ann", "old-pw", [Role.AGENT])
    await directory.add("bob", "bob-pw", [Role.AGENT])
    ann, bob = await directory.login("ann", "old-pw"), await directory.login("bob", "bob-pw")
    assert ann is not None and bob is not None
    await directory.add("ann", "new-pw", [Role.AGENT])
    assert await directory.member_for_session(ann) is None
    assert await directory.member_for_session(bob) is not None  # only hers
    assert await directory.login("ann", "old-pw") is None
    assert await directory.login("ann", "new-pw") is not None


async def test_a_disabled_member_is_logged_out_and_cannot_log_in_until_enabled(database: Database) -> None:
    directory = StaffDirectory(database)
    await directory.add("ann", "ann-pw", [Role.AGENT])
    session = await directory.login("ann", "ann-pw")
    assert session is not None
    assert await directory.disable("ann") and await directory.disable("ann")  # twice changes nothing
    assert await directory.member_for_session(session) is None
    assert await directory.login("ann", "ann-pw") is None
    member = await directory.get("ann")
    assert member is not None and member.disabled
    await directory.add("ann", "new-pw", [Role.AGENT])  # a new password leaves her disabled
    assert await directory.login("ann", "new-pw") is None
    assert await directory.enable("ann")
    assert await directory.login("ann", "new-pw") is not None
    assert not await directory.disable("nobody") and not await directory.enable("nobody")


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    """The staff program on var/frontdoor.db, which the CLI (`FD_VAR_DIR`) opens too."""
    monkeypatch.setenv("FD_VAR_DIR", str(tmp_path))
    settings = Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=KBConfig(seed_demo=False, preload=False))
    app = create_app(settings, [Program.STAFF])
    async with TestClient(TestServer(app)) as client:
        await app[STAFF].add("ann", "ann-pw", [Role.AGENT])
        yield client


async def log_in(client: Client, password: str) -> int:
    form = {"username": "ann", "password": password}
    response = await client.post("/login", data=form, allow_redirects=False)
    return 200 if response.headers["Location"] == "/staff" else 401


async def test_the_cli_disables_and_enables_an_account_and_the_open_session_dies_at_once(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await log_in(client, "ann-pw") == 200
    assert (await client.get("/api/v1/staff/me")).status == 200
    assert await asyncio.to_thread(main, ["users", "disable", "ann"]) == 0
    assert (await client.get("/api/v1/staff/me")).status == 401
    assert await log_in(client, "ann-pw") == 401
    assert await asyncio.to_thread(main, ["users", "enable", "ann"]) == 0
    assert await log_in(client, "ann-pw") == 200
    assert await asyncio.to_thread(main, ["users", "add", "ann", "--role", "agent", "--password", "fresh-pw"]) == 0
    assert (await client.get("/api/v1/staff/me")).status == 401  # a password set by the CLI ends her session
    assert await log_in(client, "fresh-pw") == 200
    assert await asyncio.to_thread(main, ["users", "disable", "nobody"]) == 1
    out = capsys.readouterr()
    assert "ann: disabled" in out.out and "no staff account named 'nobody'" in out.err
