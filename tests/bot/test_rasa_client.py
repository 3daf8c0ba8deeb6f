"""The Rasa client's NLU read (`intent_of`) against a stand-in Rasa HTTP API on loopback: the intent and its
confidence, and (None, 0.0) — never an exception — when Rasa cannot say."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.rasa_client import RasaClient
from tests.conftest import serving


async def parse(request: web.Request) -> web.Response:
    text = (await request.json())["text"]
    if text == "broken":
        return web.Response(status=500, text="boom")
    if text == "garbage":
        return web.json_response({"intent": "nope"})
    return web.json_response({"text": text, "intent": {"name": "request_human", "confidence": 0.97}, "entities": []})


async def test_intent_of_reads_the_nlu_and_never_raises() -> None:
    app = web.Application()
    app.router.add_post("/model/parse", parse)
    async with serving(app) as url, aiohttp.ClientSession() as session:
        rasa = RasaClient(session, url, timeout_s=5)
        assert await rasa.intent_of("human please") == ("request_human", 0.97)
        assert await rasa.intent_of("broken") == (None, 0.0)
        assert await rasa.intent_of("garbage") == (None, 0.0)
        assert await RasaClient(session, "http://127.0.0.1:9", timeout_s=5).intent_of("anyone?") == (None, 0.0)
