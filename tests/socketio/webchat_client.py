"""A python-socketio client that speaks Rasa's socketio channel protocol the way rasa-webchat does."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio


class RasaWebchatClient:
    """Speaks to /socket.io/ the way rasa-webchat does, collecting what the server emits."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.confirmed: asyncio.Queue[Any] = asyncio.Queue()
        self.uttered: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sio.on("session_confirm", self.confirmed.put)
        self.sio.on("bot_uttered", self.uttered.put)

    async def connect(self, session_id: str | None = None) -> str:
        await self.sio.connect(self.url, socketio_path="/socket.io/", transports=["websocket"])
        await self.sio.emit("session_request", {"session_id": session_id})
        confirmed: str = await asyncio.wait_for(self.confirmed.get(), 10)
        return confirmed

    async def say(self, text: str, session_id: str, client_message_id: str | None = None) -> None:
        data = {"message": text, "customData": {"language": "en"}, "session_id": session_id}
        if client_message_id is not None:
            data["client_message_id"] = client_message_id
        await self.sio.emit("user_uttered", data)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.uttered.get(), 10)

    async def nothing_more(self, settle_s: float = 0.3) -> bool:
        await asyncio.sleep(settle_s)
        return self.uttered.empty()

    async def close(self) -> None:
        await self.sio.disconnect()
