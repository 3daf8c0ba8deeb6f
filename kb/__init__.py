"""The FAQ knowledge base: retrieval (kb.retrieval), the editors' store (kb.store), the service the bot and the
editor call (kb.service) and the editor's web routes (staff.editor).

Importing the package stays cheap on purpose: only the plain result types and the `KnowledgeBase` protocol live here.
Encoders, numpy and the store load when their modules are imported.
"""

from __future__ import annotations

from typing import Protocol

from kb.decision import Candidate, Decision, KBResult, Reason


class KnowledgeBase(Protocol):
    """What the bot's actions call: one lookup that decides answer / clarify / not_found (never blocks the loop)."""

    async def search(self, query: str, language: str) -> KBResult: ...


__all__ = ["Candidate", "Decision", "KBResult", "KnowledgeBase", "Reason"]
