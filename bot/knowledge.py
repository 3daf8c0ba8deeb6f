"""The knowledge base as the front door runs it: `KnowledgeBaseService` and its live-update listener for as long as
the app runs. The actions answer from it; the staff editor edits it through the same service."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.keys import BUS, CONVERSATIONS, DATABASE, KB, KB_SETTINGS, SETTINGS
from kb.live import LiveUpdates
from kb.service import KBSettings, KnowledgeBaseService


async def kb_context(app: web.Application) -> AsyncIterator[None]:
    """The knowledge-base service and its live-update listener (after storage and bus)."""
    settings = app[SETTINGS]
    kb_settings = app.get(KB_SETTINGS) or KBSettings.from_config(settings.kb, settings.var_dir)
    service = KnowledgeBaseService(app[DATABASE], kb_settings, bus=app[BUS], transcripts=app[CONVERSATIONS])
    await service.start()
    app[KB] = service
    try:
        async with LiveUpdates(service, app[BUS]).running():
            yield
    finally:
        await service.close()


__all__ = ["kb_context"]
