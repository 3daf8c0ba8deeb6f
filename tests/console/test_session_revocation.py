"""An open console dies with its session: disabling the agent (or a new password, or a logout elsewhere) closes her
socket at its next heartbeat, on whichever replica holds it."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import WSMsgType

from staff.keys import STAFF
from tests.console.conftest import Running, next_frame


async def test_disabling_an_agent_closes_her_open_console(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("staff.console.CONSOLE_HEARTBEAT_S", 0.2)  # the session is checked at each heartbeat
    ann = await running.staff("ann")
    async with ann.socket() as ws:
        await next_frame(ws, lambda f: f["type"] == "ready")
        assert await running.app[STAFF].disable("ann")
        async with asyncio.timeout(5):
            while (await ws.receive()).type not in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                pass
        assert ws.close_code == 1008  # policy violation: "session ended"
    status, _ = await ann.call("GET", "/state")
    assert status == 401
