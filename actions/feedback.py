"""'Was this helpful?' answers, one row per click: which KB entry, for which query, in which conversation.

Owns `FeedbackRecord`, its two recorders (memory, SQL over `backends.Database`, table `bot_answer_feedback`) and
`RecordedFeedback`, which also tells the service record (`kb_feedback`). Must never change the knowledge base: the
KB editor reads these rows and decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import insert, select

from actions.tables import bot_answer_feedback
from backends.sql import Database
from record import CUSTOMER, Recorder, ServiceEvent, ServiceEventKind


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


class _Recorder(Protocol):
    async def record(self, feedback: FeedbackRecord) -> None: ...


class RecordedFeedback:
    """A feedback recorder (the knowledge base's) whose clicks are also facts of the service record, once stored."""

    def __init__(self, inner: _Recorder, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def record(self, feedback: FeedbackRecord) -> None:
        await self._inner.record(feedback)
        self._recorder.emit(
            ServiceEvent(
                kind=ServiceEventKind.KB_FEEDBACK,
                at=feedback.at,
                actor=CUSTOMER,
                conversation_id=feedback.conversation_id,
                # Without the front door's customer id the actions scope a conversation as its own customer.
                customer_id=None if feedback.customer_id.startswith("conversation:") else feedback.customer_id,
                language=feedback.language,
                data={"helpful": feedback.helpful, "kb_entry": feedback.entry_id, "kb_confidence": feedback.confidence},
            )
        )


class SQLFeedbackRecorder:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, feedback: FeedbackRecord) -> None:
        await self._db.execute(
            insert(bot_answer_feedback).values(
                conversation_id=feedback.conversation_id,
                customer_id=feedback.customer_id,
                entry_id=feedback.entry_id,
                query=feedback.query,
                language=feedback.language,
                helpful=1 if feedback.helpful else 0,
                confidence=feedback.confidence,
                at=feedback.at,
            )
        )

    async def recent(self, entry_id: str, limit: int = 50) -> list[FeedbackRecord]:
        rows = await self._db.fetch(
            select(bot_answer_feedback)
            .where(bot_answer_feedback.c.entry_id == entry_id)
            .order_by(bot_answer_feedback.c.at.desc())
            .limit(limit)
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
