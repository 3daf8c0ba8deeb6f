"""The alerts API behind the shell's bell: logged-in staff only, each member sees only their own and their roles'
alerts, titles come in the page's language, and malformed requests are refused with 400."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from alerts import SUPERVISORS, AlertKind, sla_title
from bot.settings import Settings
from kb.settings import KBConfig
from server.app import create_app
from staff.auth import Role
from staff.keys import ALERTS, STAFF
from tests.conftest import send_csrf_token, serving

ACCOUNTS = {"ann": [Role.AGENT], "sam": [Role.SUPERVISOR], "eve": [Role.EDITOR], "root": [Role.ADMIN]}
PASSWORD = "pw"
BREACHED = sla_title(AlertKind.SLA_BREACHED, "first_response")
AT_RISK = sla_title(AlertKind.SLA_AT_RISK, "next_reply")


@pytest.fixture
async def url(tmp_path: Path) -> AsyncIterator[tuple[web.Application, str]]:
    settings = Settings(var_dir=tmp_path, rasa_url="http://127.0.0.1:9", kb=KBConfig(seed_demo=False, preload=False))
    app = create_app(settings)
    async with serving(app) as base:
        for username, roles in ACCOUNTS.items():
            await app[STAFF].add(username, PASSWORD, roles)
        yield app, base


@contextlib.asynccontextmanager
async def session(base: str, username: str | None = None, **kwargs: Any) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser-like session, logged in as `username` (None: a stranger)."""
    # unsafe=True: the jar must accept the session cookie from an IP-address host (127.0.0.1).
    async with aiohttp.ClientSession(base_url=base, cookie_jar=aiohttp.CookieJar(unsafe=True), **kwargs) as client:
        if username is not None:
            form = {"username": username, "password": PASSWORD}
            async with client.post("/login", data=form, allow_redirects=False) as response:
                assert response.status == 303
            send_csrf_token(client)
        yield client


async def get(client: aiohttp.ClientSession, query: str = "") -> tuple[int, Any]:
    async with client.get(f"/api/v1/staff/alerts{query}") as response:
        return response.status, await response.json()


async def post(client: aiohttp.ClientSession, body: Any, **kwargs: Any) -> tuple[int, Any]:
    async with client.post("/api/v1/staff/alerts/read", json=body, **kwargs) as response:
        return response.status, await response.json()


async def test_a_stranger_gets_401(url: tuple[web.Application, str]) -> None:
    _, base = url
    async with session(base) as stranger:
        assert (await get(stranger))[0] == 401
        status, body = await post(stranger, {})
        assert status == 401 and body["error"]["code"] == "unauthorised"


async def test_each_member_sees_only_their_own_and_their_roles_alerts(url: tuple[web.Application, str]) -> None:
    app, base = url
    alerts = app[ALERTS]
    (for_ann,) = await alerts.add(
        ["ann"], AlertKind.SLA_AT_RISK, AT_RISK, {"number": "FD-000001"}, "/console/tickets/1"
    )
    (for_sam,) = await alerts.add(["sam"], AlertKind.SLA_AT_RISK, AT_RISK, {"number": "FD-000002"})
    (for_sups,) = await alerts.add([SUPERVISORS], AlertKind.SLA_BREACHED, BREACHED, {"number": "FD-000003"})
    expected = {"ann": [for_ann.id], "sam": [for_sups.id, for_sam.id], "root": [for_sups.id], "eve": []}
    for username, ids in expected.items():
        async with session(base, username) as member:
            status, body = await get(member)
            assert status == 200
            assert [a["id"] for a in body["alerts"]] == ids, username
            assert body["unread"] == len(ids)

    async with session(base, "ann") as ann:  # ann tries to mark alerts that are not hers
        assert await post(ann, {"ids": [for_sam.id, for_sups.id]}) == (200, {"marked": 0, "unread": 1})
    async with session(base, "sam") as sam:
        assert (await get(sam))[1]["unread"] == 2


async def test_opening_the_bell_marks_what_it_showed_read(url: tuple[web.Application, str]) -> None:
    app, base = url
    (first,) = await app[ALERTS].add(["sam"], AlertKind.SLA_AT_RISK, AT_RISK, {"number": "FD-000001"})
    (second,) = await app[ALERTS].add(["sam"], AlertKind.SLA_AT_RISK, AT_RISK, {"number": "FD-000002"})
    async with session(base, "sam") as sam:
        assert await post(sam, {"ids": [first.id]}) == (200, {"marked": 1, "unread": 1})
        _, unread = await get(sam, "?unread=1")
        assert [a["id"] for a in unread["alerts"]] == [second.id]
        assert await post(sam, {}) == (200, {"marked": 1, "unread": 0})
        _, everything = await get(sam, "?limit=1")
        assert [(a["id"], a["read"]) for a in everything["alerts"]] == [(second.id, True)]
        assert (await get(sam, "?unread=1"))[1] == {"alerts": [], "unread": 0}


async def test_titles_come_in_the_pages_language(url: tuple[web.Application, str]) -> None:
    app, base = url
    await app[ALERTS].add([SUPERVISORS], AlertKind.SLA_BREACHED, BREACHED, {"number": "FD-000123"})
    english, chinese = "Ticket FD-000123 missed its first-response target", "工单 FD-000123 已超出首次响应时限"
    async with session(base, "sam", headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as sam:
        (alert,) = (await get(sam))[1]["alerts"]
        assert alert["title"] == chinese and alert["titles"] == {"en": english, "zh": chinese}
        assert (await get(sam, "?lang=en"))[1]["alerts"][0]["title"] == english
        sam.cookie_jar.update_cookies({"fd_lang": "en"})  # the page's language switch wins over the browser's
        assert (await get(sam))[1]["alerts"][0]["title"] == english


@pytest.mark.parametrize(
    "body",
    [
        {"ids": "1"},
        {"ids": [1, "2"]},
        {"ids": [True]},
        {"ids": [0]},
        {"ids": [1.5]},
        {"ids": {"1": True}},
        {"ids": list(range(1, 502))},
        [1, 2],
    ],
)
async def test_bad_ids_are_refused(url: tuple[web.Application, str], body: Any) -> None:
    _, base = url
    async with session(base, "ann") as ann:
        status, answer = await post(ann, body)
        assert status == 400 and answer["error"]["code"] in ("bad_ids", "bad_json")


@pytest.mark.parametrize("query", ["?unread=maybe", "?limit=0", "?limit=201", "?limit=ten"])
async def test_bad_list_parameters_are_refused(url: tuple[web.Application, str], query: str) -> None:
    _, base = url
    async with session(base, "ann") as ann:
        assert (await get(ann, query))[0] == 400


async def test_a_cross_origin_post_is_refused(url: tuple[web.Application, str]) -> None:
    app, base = url
    await app[ALERTS].add(["ann"], AlertKind.SLA_AT_RISK, AT_RISK, {"number": "FD-000001"})
    async with session(base, "ann") as ann:
        status, _ = await post(ann, {}, headers={"Origin": "https://evil.example"})
        assert status == 403
        assert (await get(ann))[1]["unread"] == 1
