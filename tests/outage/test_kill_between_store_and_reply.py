"""A front door killed (kill -9) after it stored a customer's message and before it replied: the customer's retry
with the same client message id, served by the restarted front door, stores nothing again and gets the answer."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.conftest import scripted_rasa
from tests.outage.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
STARTUP_S = 60.0


@asynccontextmanager
async def frontdoor(var_dir: Path, rasa_url: str) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """`frontdoor serve` in its own process on SQLite in `var_dir`; yields its URL and the process."""
    port = free_port()
    env = os.environ | {
        "FD_VAR_DIR": str(var_dir),
        "FD_PORT": str(port),
        "FD_RASA_URL": rasa_url,
        "FD_RASA_TIMEOUT_S": "60",
        "FD_KB_SEED_DEMO": "0",
        "FD_KB_PRELOAD": "0",
        "FD_REDIS_URL": "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "serve", cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            deadline = asyncio.get_running_loop().time() + STARTUP_S
            while True:
                try:
                    # Any answer will do: /healthz says 503 while the knowledge base has no index (not built here).
                    async with session.get(f"{url}/healthz"):
                        break
                except aiohttp.ClientError:
                    pass
                assert process.returncode is None, "the front door exited"
                assert asyncio.get_running_loop().time() < deadline, "the front door did not start"
                await asyncio.sleep(0.2)
        yield url, process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def test_a_retry_after_a_kill_between_store_and_reply_is_answered_and_stored_once(tmp_path: Path) -> None:
    turn_reached = asyncio.Event()
    hang = True

    async def rasa(request: web.Request) -> web.Response:
        message = (await request.json())["message"]
        turn_reached.set()  # the pipeline stores the message before it asks Rasa
        if hang:
            await asyncio.Event().wait()  # the front door dies while it waits here
        return web.json_response([{"text": f"echo: {message}"}])

    body = {"text": "where is my parcel?", "client_message_id": "kill-9"}
    async with scripted_rasa(rasa) as rasa_url, aiohttp.ClientSession() as session:
        async with frontdoor(tmp_path, rasa_url) as (url, process):
            async with session.post(f"{url}/api/v1/conversations", json={}) as response:
                started = await response.json()
            auth = {"Authorization": f"Bearer {started['customer_token']}"}
            path = f"{url}/api/v1/conversations/{started['conversation_id']}/messages"
            first = asyncio.create_task(session.post(path, json=body, headers=auth))
            await asyncio.wait_for(turn_reached.wait(), STARTUP_S)
            process.send_signal(signal.SIGKILL)
            await process.wait()
            try:
                await first
            except aiohttp.ClientError:
                pass  # the customer saw the request fail
            else:
                raise AssertionError("a killed front door answered")
        hang = False
        async with frontdoor(tmp_path, rasa_url) as (url, _):
            path = f"{url}/api/v1/conversations/{started['conversation_id']}/messages"
            async with session.post(path, json=body, headers=auth) as response:
                assert response.status == 200
                assert [m["text"] for m in (await response.json())["messages"]] == ["echo: where is my parcel?"]
            async with session.get(path, headers=auth) as response:
                history = (await response.json())["messages"]
    assert [(m["sender"], m["text"]) for m in history] == [
        ("customer", "where is my parcel?"),
        ("bot", "echo: where is my parcel?"),
    ]
