"""'Was this helpful?' clicks per FAQ entry, as the editor sees them.

Owns `KBFeedbackStore` (table `kb_feedback`) and `FeedbackLike`, the shape of a click the actions hand over
(`actions.feedback.FeedbackRecord` has it). Must never change an entry: editors read the counts and decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from backends.sql import Database, placeholders

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS kb_feedback (
        entry_id TEXT NOT NULL, conversation_id TEXT NOT NULL, query TEXT NOT NULL, language TEXT NOT NULL,
        helpful INTEGER NOT NULL, confidence DOUBLE PRECISION, at DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS kb_feedback_entry ON kb_feedback (entry_id, at)",
)


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

    async def migrate(self) -> None:
        await self._db.migrate(SCHEMA)

    async def record(self, feedback: FeedbackLike) -> None:
        await self._db.execute(
            "INSERT INTO kb_feedback (entry_id, conversation_id, query, language, helpful, confidence, at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            feedback.entry_id,
            feedback.conversation_id,
            feedback.query,
            feedback.language,
            1 if feedback.helpful else 0,
            feedback.confidence,
            feedback.at,
        )

    async def counts(self, entry_ids: list[str]) -> dict[str, FeedbackCounts]:
        if not entry_ids:
            return {}
        rows = await self._db.fetch(
            "SELECT entry_id, SUM(helpful) AS yes, COUNT(*) AS n FROM kb_feedback"  # noqa: S608
            f" WHERE entry_id IN ({placeholders(len(entry_ids))}) GROUP BY entry_id",
            *entry_ids,
        )
        return {r["entry_id"]: FeedbackCounts(int(r["yes"] or 0), int(r["n"]) - int(r["yes"] or 0)) for r in rows}
