"""Connects the pipeline to handoff: who answers a conversation now, and what escalating means for the customer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.keys import GATE
from conversations.models import Conversation, Sender
from conversations.store import MessageDraft

HANDOFF_NOTICE = {
    "en": "I'm connecting you with a member of our team.",
    "zh": "正在为您转接人工客服。",
}


class HandoffGate:
    async def bot_answers(self, conversation_id: str) -> bool:
        return True

    async def escalate(self, conversation: Conversation, request: dict[str, Any]) -> list[MessageDraft]:
        text = HANDOFF_NOTICE.get(conversation.language, HANDOFF_NOTICE["en"])
        return [MessageDraft(Sender.SYSTEM, text, custom={"notice": "handoff", "reason": request.get("reason")})]

    async def intercept(self, conversation: Conversation, payload: str) -> list[MessageDraft] | None:
        return None


async def handoff_context(app: web.Application) -> AsyncIterator[None]:
    app[GATE] = HandoffGate()
    yield
