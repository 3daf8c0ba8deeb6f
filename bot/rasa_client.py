"""Talks to the Rasa server: one customer turn through the REST channel, and the server's health.

Keeps one pooled HTTP session so a turn costs one keep-alive request. Never interprets replies: the pipeline does.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.exceptions import BotUnavailable
from observability import REQUEST_ID_HEADER, correlation

log = logging.getLogger(__name__)

RasaReply = dict[str, Any]


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout_s: float) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[RasaReply]:
        """Sends one customer message; returns Rasa's replies (text, buttons, custom) in order.

        The correlation ids bound now travel in the metadata, which Rasa keeps on the user event and sends back
        with every action call (bot/actions_endpoint.py binds them again there), and the request id as a header.
        """
        ids = correlation()
        body = {"sender": sender, "message": text, "metadata": {**metadata, **ids}}
        headers = {REQUEST_ID_HEADER: ids["request_id"]} if "request_id" in ids else None
        try:
            async with self._session.post(
                f"{self._base_url}/webhooks/rest/webhook", json=body, timeout=self._timeout, headers=headers
            ) as response:
                if response.status != 200:
                    raise BotUnavailable(f"Rasa answered HTTP {response.status}")
                replies = await response.json()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise BotUnavailable(f"Rasa turn failed: {exc!r}") from exc
        if not isinstance(replies, list):
            raise BotUnavailable("Rasa answered something other than a list of replies")
        return [r for r in replies if isinstance(r, dict)]

    async def end_form(self, sender: str) -> None:
        """Ends whatever form (active loop) Rasa is running for `sender`, through its HTTP API's tracker events: an
        agent now owns the conversation, and a form started before must not resume uninvited when the bot is back
        (it would swallow the satisfaction rating and re-ask its question after every reply). Slots already
        filled stay. Never raises: a failure is logged, and the conversation goes on."""
        events = [{"event": "active_loop", "name": None}, {"event": "slot", "name": "requested_slot", "value": None}]
        url = f"{self._base_url}/conversations/{quote(sender, safe='')}/tracker/events"
        try:
            async with self._session.post(
                url, params={"include_events": "NONE"}, json=events, timeout=self._timeout
            ) as response:
                if response.status != 200:
                    log.warning("Rasa refused to end the form of %s: HTTP %s", sender, response.status)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("ending the form of %s in Rasa failed: %r", sender, exc)

    async def health(self) -> dict[str, Any]:
        try:
            async with self._session.get(f"{self._base_url}/status", timeout=aiohttp.ClientTimeout(total=2)) as r:
                if r.status == 200:
                    status = await r.json()
                    return {"ok": True, "model": status.get("model_file", "")}
                return {"ok": False, "error": f"HTTP {r.status}"}
        except (TimeoutError, aiohttp.ClientError) as exc:
            return {"ok": False, "error": repr(exc)}
