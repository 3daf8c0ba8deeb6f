"""Talks to the Rasa servers: one customer turn through the REST channel, ending a form, and the servers' health.

Keeps one pooled HTTP session so a turn costs one keep-alive request. Each conversation goes to its own server of
several (`bot.rasa_servers`: sticky by its sender id, the next one while that is down), and each server is given at
most `max_turns` turns at once; the rest wait their turn in arrival order. Never interprets replies: the pipeline
does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

from bot.exceptions import BotUnavailable
from bot.rasa_servers import RasaServers, TurnSlots
from observability import REQUEST_ID_HEADER, correlation

log = logging.getLogger(__name__)

RasaReply = dict[str, Any]
T = TypeVar("T")


class RasaClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_urls: str | Sequence[str],
        timeout_s: float,
        *,
        max_turns: int,
        servers: RasaServers | None = None,
    ) -> None:
        """`base_urls`: one Rasa server's URL, or several (a sequence); `servers` overrides them (tests give a
        clock). `timeout_s` bounds one request to Rasa, not the wait for a free slot before it; `max_turns`: the
        turns each server is given at once (FD_RASA_MAX_TURNS)."""
        self._session = session
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        self._servers = servers or RasaServers([url.rstrip("/") for url in urls])
        self._slots = TurnSlots(self._servers.urls, max_turns)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    @property
    def waiting(self) -> int:
        """Turns waiting for a free slot on their Rasa server now (the queue a peak builds)."""
        return self._slots.waiting

    def server_for(self, sender: str) -> str:
        """The base URL of the Rasa server that holds `sender`'s conversation now (its tracker, for the HTTP API)."""
        return self._servers.home_of(sender)

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[RasaReply]:
        """Sends one customer message; returns Rasa's replies (text, buttons, custom) in order.

        The correlation ids bound now travel in the metadata, which Rasa keeps on the user event and sends back
        with every action call (bot/actions_endpoint.py binds them again there), and the request id as a header.
        Raises BotUnavailable when no server answered in time, or one answered nonsense.
        """
        ids = correlation()
        body = {"sender": sender, "message": text, "metadata": {**metadata, **ids}}
        headers = {REQUEST_ID_HEADER: ids["request_id"]} if "request_id" in ids else None

        async def post(base_url: str) -> list[RasaReply]:
            async with self._session.post(
                f"{base_url}/webhooks/rest/webhook", json=body, timeout=self._timeout, headers=headers
            ) as response:
                if response.status != 200:
                    raise BotUnavailable(f"Rasa answered HTTP {response.status}")
                return await response.json()  # type: ignore[no-any-return]

        try:
            replies = await self._on_server(sender, post)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise BotUnavailable(f"Rasa turn failed: {exc!r}") from exc
        if not isinstance(replies, list):
            raise BotUnavailable("Rasa answered something other than a list of replies")
        return [r for r in replies if isinstance(r, dict)]

    async def _on_server(self, sender: str, call: Callable[[str], Awaitable[T]]) -> T:
        """`call(base_url)` on `sender`'s server. A server that refuses the connection (the request never reached
        it, so nothing ran twice) is passed over for the next; any other error is the caller's, and so is the last
        server's refusal."""
        *others, last = self._servers.order_for(sender)
        for base_url in others:
            try:
                return await self._call_on(base_url, call)
            except aiohttp.ClientConnectorError:
                log.warning("Rasa server %s refused the connection; trying the next", base_url)
        return await self._call_on(last, call)

    async def _call_on(self, base_url: str, call: Callable[[str], Awaitable[T]]) -> T:
        """`call(base_url)` holding one of the server's turn slots; a refused connection marks the server down."""
        async with self._slots.hold(base_url):
            try:
                result = await call(base_url)
            except aiohttp.ClientConnectorError:
                self._servers.mark_down(base_url)
                raise
        self._servers.mark_up(base_url)
        return result

    async def end_form(self, sender: str) -> None:
        """Ends whatever form (active loop) Rasa is running for `sender`, through its HTTP API's tracker events: an
        agent now owns the conversation, and a form started before must not resume uninvited when the bot is back
        (it would swallow the satisfaction rating and re-ask its question after every reply). Slots already
        filled stay. Never raises: a failure is logged, and the conversation goes on."""
        events = [{"event": "active_loop", "name": None}, {"event": "slot", "name": "requested_slot", "value": None}]

        async def post(base_url: str) -> int:
            url = f"{base_url}/conversations/{quote(sender, safe='')}/tracker/events"
            async with self._session.post(
                url, params={"include_events": "NONE"}, json=events, timeout=self._timeout
            ) as response:
                return response.status

        try:
            status = await self._on_server(sender, post)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("ending the form of %s in Rasa failed: %r", sender, exc)
            return
        if status != 200:
            log.warning("Rasa refused to end the form of %s: HTTP %s", sender, status)

    async def health(self) -> dict[str, Any]:
        """`{"ok", "model"}` of the first server that answers (ok while any does: the others' conversations move to
        it), or `{"ok": False, "error"}`; with several servers, `servers` holds each one's own answer."""
        urls = self._servers.urls
        answers = dict(zip(urls, await asyncio.gather(*(self._server_health(url) for url in urls)), strict=True))
        best = next((answer for answer in answers.values() if answer["ok"]), next(iter(answers.values())))
        return best if len(answers) == 1 else best | {"servers": answers}

    async def _server_health(self, base_url: str) -> dict[str, Any]:
        try:
            async with self._session.get(f"{base_url}/status", timeout=aiohttp.ClientTimeout(total=2)) as r:
                if r.status == 200:
                    status = await r.json()
                    return {"ok": True, "model": status.get("model_file", "")}
                return {"ok": False, "error": f"HTTP {r.status}"}
        except (TimeoutError, aiohttp.ClientError) as exc:
            return {"ok": False, "error": repr(exc)}
