"""A scripted stand-in for Rasa's REST channel (`POST /webhooks/rest/webhook`), for in-process front-door tests."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def scripted_rasa_turn(request: web.Request) -> web.Response:
    """Answers like Rasa's REST channel: a few fixed replies, and an echo of anything else."""
    message = (await request.json())["message"]
    replies: list[dict[str, Any]]
    if message == "menu":
        replies = [
            {
                "text": "Pick one.\n\nWhich do you want?",
                "buttons": [{"title": "Yes please", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
            }
        ]
    elif message.startswith("/rate"):
        replies = [{"text": "Thanks for your rating."}]
    elif message == "/affirm":
        replies = [{"text": "Great, you said yes."}]
    else:
        replies = [{"text": f"echo: {message}"}]
    return web.json_response(replies)
