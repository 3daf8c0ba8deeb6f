"""Rasa's Socket.IO protocol against the real stack: a python-socketio client, then rasa-webchat in Chromium.

The rasa-webchat@1.0.1 UMD bundle is installed with npm into var/npm/ (git-ignored) when missing; the browser test
skips only when npm cannot reach its registry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.stack import Stack
from tests.conftest import serving
from tests.socketio.webchat_client import RasaWebchatClient
from tests.widget.browser import TIMEOUT_MS, chromium

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = ROOT / "var" / "npm"
WEBCHAT_PACKAGE = "rasa-webchat@1.0.1"
WEBCHAT_BUNDLE = NPM_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"
NPM_INSTALL_TIMEOUT_S = 600
OFFLINE_MARKERS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "network", "offline")


@pytest.fixture(scope="session")
def webchat_bundle() -> Path:
    if WEBCHAT_BUNDLE.exists():
        return WEBCHAT_BUNDLE
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--prefix", str(NPM_DIR), "--no-audit", "--no-fund", "--ignore-scripts", WEBCHAT_PACKAGE]
    result = subprocess.run(command, capture_output=True, text=True, timeout=NPM_INSTALL_TIMEOUT_S, check=False)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        if any(marker in output for marker in OFFLINE_MARKERS):
            pytest.skip(f"npm registry unreachable: {output[-300:]}")
        pytest.fail(f"npm install {WEBCHAT_PACKAGE} failed:\n{output[-2000:]}")
    assert WEBCHAT_BUNDLE.exists()
    return WEBCHAT_BUNDLE


@pytest.fixture
async def webchat_site(stack: Stack, webchat_bundle: Path) -> AsyncIterator[str]:
    """A page on another origin running rasa-webchat, pointed at the front door as if it were a Rasa server."""
    props = {
        "socketUrl": stack.frontdoor_url,
        "socketPath": "/socket.io/",
        "customData": {"language": "en"},
        "title": "Acme bot",
        "params": {"storage": "local"},
    }
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>rasa-webchat site</title></head><body>'
        '<script src="/webchat.js"></script>'
        f"<script>window.WebChat.default({json.dumps(props)}, null);</script></body></html>"
    )

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    async def bundle(request: web.Request) -> web.FileResponse:
        return web.FileResponse(webchat_bundle, headers={"Content-Type": "text/javascript"})

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/webchat.js", bundle)
    async with serving(app) as url:
        yield url


async def test_a_socketio_client_gets_a_session_and_the_bots_answer(stack: Stack) -> None:
    client = RasaWebchatClient(stack.frontdoor_url)
    try:
        session_id = await client.connect(None)
        assert len(session_id) == 32
        await client.say("hello", session_id)
        reply = await client.next()
        assert isinstance(reply.get("text"), str) and reply["text"]
    finally:
        await client.close()


@pytest.mark.browser
async def test_rasa_webchat_in_a_browser_talks_to_the_front_door(webchat_site: str) -> None:
    async with chromium() as browser:
        page = await browser.new_page(locale="en-US")
        await page.goto(webchat_site)
        await page.locator(".rw-launcher").click()
        message = page.locator(".rw-new-message")
        await message.wait_for(timeout=TIMEOUT_MS)
        await message.fill("hello")
        await message.press("Enter")
        await page.locator(".rw-client").first.wait_for(timeout=TIMEOUT_MS)
        reply = page.locator(".rw-from-response .rw-message-text").first  # not the typing dots: a message
        await reply.wait_for(timeout=TIMEOUT_MS)
        assert (await reply.inner_text()).strip()
        assert await page.locator(".rw-client").first.inner_text() == "hello"
