"""'Was this helpful?' clicks per FAQ entry, as the editor sees them.

Owns `KBFeedbackStore` (table `kb_feedback`) and `FeedbackLike`, the shape of a click the actions hand over
(`actions.feedback.FeedbackRecord` has it). Must never change an entry: editors read the counts and decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, insert, select

from backends.sql import Database
from kb.tables import kb_feedback


class FeedbackLike(Protocol):
    """One click on 'was this helpful?' (read-only attributes, so frozen dataclasses fit)."""

    @property
    def conversation_id(self) -> str: ...

    @property
    def customer_id(self) -> str: ...

    @property
    def entry_id(self) -> str: ...

    @property
    def query(self) -> str: ...

    @property
    def language(self) -> str: ...

    @property
    def helpful(self) -> bool: ...

    @property
    def confidence(self) -> float | None: ...

    @property
    def at(self) -> float: ...


@dataclass(frozen=True)
class FeedbackCounts:
    helpful: int = 0
    unhelpful: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"helpful": self.helpful, "unhelpful": self.unhelpful}


class KBFeedbackStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, feedback: FeedbackLike) -> None:
        await self._db.execute(
            insert(kb_feedback).values(
                entry_id=feedback.entry_id,
                conversation_id=feedback.conversation_id,
                query=feedback.query,
                language=feedback.language,
                helpful=1 if feedback.helpful else 0,
                confidence=feedback.confidence,
                at=feedback.at,
            )
        )

    async def counts(self, entry_ids: list[str]) -> dict[str, FeedbackCounts]:
        if not entry_ids:
            return {}
        rows = await self._db.fetch(
            select(
                kb_feedback.c.entry_id,
                func.sum(kb_feedback.c.helpful).label("yes"),
                func.count().label("n"),
            )
            .where(kb_feedback.c.entry_id.in_(entry_ids))
            .group_by(kb_feedback.c.entry_id)
        )
        return {r["entry_id"]: FeedbackCounts(int(r["yes"] or 0), int(r["n"]) - int(r["yes"] or 0)) for r in rows}
