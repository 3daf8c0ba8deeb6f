"""Customer satisfaction after a human handoff: the survey rows (asked → rated → commented) in one SQL table.

One row per time the bot asks (after an agent's wrap-up ends). `rate` and `comment` are compare-and-set on the row's
state, so a double click or a retried request changes nothing twice. Works on SQLite and PostgreSQL through
`backends.sql`. Must never talk to customers or Rasa: `bot.handoff_bridge` decides what to say.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Integer, Table, Text, insert, select, text, update
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata
from backends.sql import Database, Row

handoff_surveys = Table(
    "handoff_surveys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("agent_id", Text, nullable=False, server_default=text("''")),
    Column("state", Text, nullable=False),
    Column("score", Integer),
    Column("comment", Text, nullable=False, server_default=text("''")),
    Column("asked_at", DOUBLE_PRECISION, nullable=False),
    Column("rated_at", DOUBLE_PRECISION),
    Column("commented_at", DOUBLE_PRECISION),
    Index("handoff_surveys_conversation", "conversation_id", "asked_at"),
)

# A customer who rated and then went quiet: after this long their next message is a question again, not a comment.
COMMENT_WINDOW_S = 600.0
MAX_COMMENT_CHARS = 1000


class SurveyState(StrEnum):
    ASKED = "asked"
    RATED = "rated"  # waiting for the optional comment
    DONE = "done"


@dataclass(frozen=True)
class Survey:
    id: str
    conversation_id: str
    agent_id: str
    state: SurveyState
    score: int | None
    comment: str
    asked_at: float
    rated_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "agent_id": self.agent_id,
            "state": self.state.value,
            "score": self.score,
            "comment": self.comment,
            "asked_at": self.asked_at,
            "rated_at": self.rated_at,
        }


def _survey(row: Row) -> Survey:
    return Survey(
        id=row["id"],
        conversation_id=row["conversation_id"],
        agent_id=row["agent_id"],
        state=SurveyState(row["state"]),
        score=None if row["score"] is None else int(row["score"]),
        comment=row["comment"],
        asked_at=float(row["asked_at"]),
        rated_at=None if row["rated_at"] is None else float(row["rated_at"]),
    )


class SurveyStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    async def ask(self, conversation_id: str, agent_id: str) -> Survey:
        survey_id = f"srv_{secrets.token_hex(8)}"
        now = self._clock()
        await self._db.execute(
            insert(handoff_surveys).values(
                id=survey_id,
                conversation_id=conversation_id,
                agent_id=agent_id,
                state=SurveyState.ASKED.value,
                asked_at=now,
            )
        )
        return Survey(survey_id, conversation_id, agent_id, SurveyState.ASKED, None, "", now, None)

    async def latest(self, conversation_id: str) -> Survey | None:
        row = await self._db.fetchrow(
            select(handoff_surveys)
            .where(handoff_surveys.c.conversation_id == conversation_id)
            .order_by(handoff_surveys.c.asked_at.desc(), handoff_surveys.c.id.desc())
            .limit(1)
        )
        return _survey(row) if row else None

    async def rate(self, conversation_id: str, score: int) -> Survey | None:
        """Score the latest survey (a second click before the comment changes the score); None if none is open."""
        survey = await self.latest(conversation_id)
        if survey is None or survey.state is SurveyState.DONE:
            return None
        await self._db.execute(
            update(handoff_surveys)
            .where(handoff_surveys.c.id == survey.id, handoff_surveys.c.state != SurveyState.DONE.value)
            .values(score=score, state=SurveyState.RATED.value, rated_at=self._clock())
        )
        return await self.latest(conversation_id)

    async def awaiting_comment(self, conversation_id: str) -> Survey | None:
        survey = await self.latest(conversation_id)
        if survey is None or survey.state is not SurveyState.RATED or survey.rated_at is None:
            return None
        return survey if self._clock() - survey.rated_at <= COMMENT_WINDOW_S else None

    async def finish(self, survey_id: str, comment: str = "") -> bool:
        """rated → done with an optional comment; False if it was already done (a duplicate delivery)."""
        before = await self._db.fetchval(select(handoff_surveys.c.state).where(handoff_surveys.c.id == survey_id))
        if before != SurveyState.RATED.value:
            return False
        await self._db.execute(
            update(handoff_surveys)
            .where(handoff_surveys.c.id == survey_id, handoff_surveys.c.state == SurveyState.RATED.value)
            .values(comment=comment[:MAX_COMMENT_CHARS], state=SurveyState.DONE.value, commented_at=self._clock())
        )
        return True
