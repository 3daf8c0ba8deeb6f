"""The console API's edges: who may call it (401/403), what it refuses (400/404/409), and the gate's pure parts."""

from __future__ import annotations

import aiohttp
import pytest

from bot.handoff_bridge import queue_text
from bot.surveys import parse_rating, rating_buttons
from staff.auth import Role
from staff.case_card import expand_canned
from tests.console.conftest import Running


async def test_console_page_sends_a_logged_out_visitor_to_login(running: Running) -> None:
    async with aiohttp.ClientSession(base_url=running.url) as anonymous:
        async with anonymous.get("/console", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/login?next=/console"
        async with anonymous.get("/console/supervisor", allow_redirects=False) as response:
            assert response.headers["Location"] == "/login?next=/console/supervisor"


async def test_console_page_has_no_inline_script_and_a_strict_csp(running: Running) -> None:
    ann = await running.staff("ann")
    async with ann.session.get("/console") as response:
        assert response.status == 200
        assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' governs
        html = await response.text()
    assert "<script>" not in html and 'src="/staff/static/console.js"' in html


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/state"),
        ("POST", "/next"),
        ("POST", "/conversations/conv_x/claim"),
        ("GET", "/conversations/conv_x"),
        ("POST", "/conversations/conv_x/messages"),
        ("GET", "/supervisor"),
        ("GET", "/ws"),
    ],
)
async def test_console_api_without_a_session_answers_401(running: Running, method: str, path: str) -> None:
    async with (
        aiohttp.ClientSession(base_url=running.url) as anonymous,
        anonymous.request(method, f"/api/v1/console{path}", json={}) as response,
    ):
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorised"


async def test_an_editor_is_refused_the_console_and_an_agent_the_supervisor_api(running: Running) -> None:
    eve = await running.staff("eve", Role.EDITOR)
    assert (await eve.call("GET", "/state"))[0] == 403
    async with eve.session.get("/console") as response:
        assert response.status == 403
    ann = await running.staff("ann")
    assert (await ann.call("GET", "/supervisor"))[0] == 403
    assert (await ann.call("PUT", "/agents/ann", {"capacity": 9}))[0] == 403


async def test_a_cross_origin_console_socket_is_refused(running: Running) -> None:
    ann = await running.staff("ann")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with ann.session.ws_connect("/api/v1/console/ws", headers={"Origin": "https://evil.example"}):
            pass
    assert refused.value.status == 403


async def test_a_cross_origin_reply_is_refused(running: Running) -> None:
    ann = await running.staff("ann")
    async with ann.session.post(
        "/api/v1/console/presence", json={"presence": "online"}, headers={"Origin": "https://evil.example"}
    ) as response:
        assert response.status == 403


async def test_bad_console_requests_are_400s_with_a_code(running: Running) -> None:
    customer = await running.customer("en")
    ann = await running.staff("ann")
    assert (await ann.call("POST", "/presence", {"presence": "busy"}))[1]["error"]["code"] == "bad_presence"
    await ann.call("POST", "/presence", {"presence": "online"})
    await customer.say("human please")
    base = f"/conversations/{customer.conversation_id}"
    assert (await ann.call("POST", f"{base}/messages", {"text": "   "}))[0] == 400
    assert (await ann.call("POST", f"{base}/messages", {"text": "x" * 5000}))[0] == 413
    for bad in ("nul\x00", "lone \ud800 surrogate", "escape \x1b[2J"):
        status, body = await ann.call("POST", f"{base}/messages", {"text": bad})
        assert (status, body["error"]["code"]) == (400, "bad_text")
        status, body = await ann.call("POST", f"{base}/transfer", {"to_queue": "en:billing", "note": bad})
        assert (status, body["error"]["code"]) == (400, "bad_note")
        status, body = await ann.call("POST", f"{base}/close", {"resolution": bad})
        assert (status, body["error"]["code"]) == (400, "bad_resolution")
    assert (await ann.call("POST", f"{base}/messages", {"canned_id": "nope"}))[1]["error"]["code"] == "bad_canned_id"
    both = {"to_agent": "bob", "to_queue": "en:billing"}
    assert (await ann.call("POST", f"{base}/transfer", both))[1]["error"]["code"] == "bad_target"
    assert (await ann.call("POST", f"{base}/transfer", {"to_queue": "fr:billing"}))[0] == 400
    assert (await ann.call("POST", f"{base}/transfer", {"to_agent": "nobody"}))[0] == 404
    assert (await ann.call("POST", f"{base}/close", {"faq_draft": "yes"}))[0] == 400
    assert (await ann.call("GET", "/conversations/conv_unknown"))[0] == 404


async def test_an_agent_cannot_reply_in_or_read_a_conversation_someone_else_owns(running: Running) -> None:
    customer = await running.customer("en")
    ann, bob = await running.staff("ann"), await running.staff("bob")
    await ann.call("POST", "/presence", {"presence": "online"})
    await customer.say("human please")
    base = f"/conversations/{customer.conversation_id}"
    status, body = await bob.call("POST", f"{base}/messages", {"text": "hi"})
    assert status == 409 and body["error"]["code"] == "not_owner"
    assert (await bob.call("GET", base))[0] == 403
    assert (await bob.call("POST", f"{base}/close", {"resolution": "x"}))[0] == 409


async def test_a_supervisor_sets_an_agents_profile_and_bad_profiles_are_refused(running: Running) -> None:
    await running.staff("bob")
    sam = await running.staff("sam", Role.SUPERVISOR)
    status, body = await sam.call("PUT", "/agents/bob", {"skills": ["billing"], "languages": ["en"], "capacity": 2})
    assert status == 200 and body["agent"]["skills"] == ["billing"] and body["agent"]["capacity"] == 2
    assert (await sam.call("PUT", "/agents/bob", {"skills": ["astrology"], "capacity": 2}))[0] == 400
    assert (await sam.call("PUT", "/agents/bob", {"languages": ["fr"], "capacity": 2}))[0] == 400
    assert (await sam.call("PUT", "/agents/bob", {"capacity": 0}))[0] == 400
    assert (await sam.call("PUT", "/agents/nobody", {"capacity": 2}))[0] == 404
    status, listed = await sam.call("GET", "/agents")
    assert status == 200 and [a["agent_id"] for a in listed["agents"]] == ["bob"]  # sam has not opened a console


def test_rating_payloads_parse_only_scores_one_to_five() -> None:
    assert [parse_rating(b.payload) for b in rating_buttons()] == [1, 2, 3, 4, 5]
    for bad in ('/fd_rate{"score":6}', '/fd_rate{"score":true}', "/fd_rate{nope}", '/fd_rate{"score":"5"}', "/other"):
        assert parse_rating(bad) is None


def test_queue_text_speaks_the_customers_language() -> None:
    assert queue_text("zh", 3, 600.0) == "您目前在人工客服队列中排第 3 位。预计等待约 10 分钟。"
    assert queue_text("en", 1, None).startswith("You are next in the queue")


def test_canned_variables_unknown_or_malformed_become_empty() -> None:
    assert expand_canned(
        "Hi {customer_name}, {agent_name} here{x}{0}{!}", {"customer_name": "Li", "agent_name": "Ann"}
    ) == ("Hi Li, Ann here")
