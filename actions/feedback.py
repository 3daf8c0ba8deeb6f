"""'Was this helpful?' answers, one row per click: which KB entry, for which query, in which conversation.

Owns `FeedbackRecord` and its two recorders (memory, SQL over `backends.Database`, table `bot_answer_feedback`).
Must never change the knowledge base: the KB editor reads these rows and decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from backends.sql import Database

MIGRATIONS = (
    """CREATE TABLE IF NOT EXISTS bot_answer_feedback (
        conversation_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        query TEXT NOT NULL,
        language TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        confidence DOUBLE PRECISION,
        at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS bot_answer_feedback_entry ON bot_answer_feedback (entry_id, at)",
)


@dataclass(frozen=True)
class FeedbackRecord:
    conversation_id: str
    customer_id: str
    entry_id: str  # empty when the customer clicked without an answer we can still find
    query: str
    language: str
    helpful: bool
    confidence: float | None
    at: float


class MemoryFeedbackRecorder:
    def __init__(self) -> None:
        self.records: list[FeedbackRecord] = []

    async def record(self, feedback: FeedbackRecord) -> None:
        self.records.append(feedback)


class SQLFeedbackRecorder:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def migrate(self) -> None:
        await self._db.migrate(MIGRATIONS)

    async def record(self, feedback: FeedbackRecord) -> None:
        await self._db.execute(
            "INSERT INTO bot_answer_feedback (conversation_id, customer_id, entry_id, query, language, helpful, "
            "confidence, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            feedback.conversation_id,
            feedback.customer_id,
            feedback.entry_id,
            feedback.query,
            feedback.language,
            1 if feedback.helpful else 0,
            feedback.confidence,
            feedback.at,
        )

    async def recent(self, entry_id: str, limit: int = 50) -> list[FeedbackRecord]:
        rows = await self._db.fetch(
            "SELECT * FROM bot_answer_feedback WHERE entry_id = $1 ORDER BY at DESC LIMIT $2", entry_id, limit
        )
        return [
            FeedbackRecord(
                conversation_id=r["conversation_id"],
                customer_id=r["customer_id"],
                entry_id=r["entry_id"],
                query=r["query"],
                language=r["language"],
                helpful=bool(r["helpful"]),
                confidence=r["confidence"],
                at=float(r["at"]),
            )
            for r in rows
        ]
