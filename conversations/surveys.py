"""Customer satisfaction: the survey rows in one SQL table, for the survey after a live chat and the follow-up after a
resolved ticket (回访) alike.

One row per time the bot asks. A chat survey goes asked → rated → done (the rating, then an optional comment); a
ticket's follow-up first asks whether the problem is solved (asked_solved → asked), then the same. Every answer is a
compare-and-set on the row's state, so a double click or a retried request changes nothing twice, and a rating is
taken at any open step (a customer who skips "solved?" and types "5" has rated). Works on SQLite and PostgreSQL
through `backends.sql`. Each question asked and each answer taken is a fact of the service record (`survey_sent`,
`survey_answered`), sent to the store's `recorder` once the row changed. Must never talk to customers, Rasa or
tickets: `bot.surveys` decides what to say, and what an answer does to a ticket.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Column, Index, Integer, Table, Text, insert, select, text, update
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata
from backends.sql import Database, Row
from record import BOT, CUSTOMER, Recorder, ServiceEvent, ServiceEventKind

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
    # A ticket's follow-up: its ticket, whether the customer said it is solved, when it was last asked again.
    Column("ticket", Text),
    Column("solved", Boolean),
    Column("reminded_at", DOUBLE_PRECISION),
    # Who was asked on which channel: a WeChat customer back after the thread's idle limit answers in a new
    # conversation, and their answer still finds the question.
    Column("customer_id", Text, nullable=False, server_default=text("''")),
    Column("channel", Text, nullable=False, server_default=text("''")),
    Column("language", Text, nullable=False, server_default=text("''")),  # the question's: the answers' replies too
    Index("handoff_surveys_conversation", "conversation_id", "asked_at"),
    Index("handoff_surveys_customer", "customer_id", "asked_at"),
)

# A customer who rated and then went quiet: after this long their next message is a question again, not a comment.
COMMENT_WINDOW_S = 600.0
# A question left unanswered this long (since it was asked, or asked again) is no longer open: a "5" typed a week
# later is not a rating.
ANSWER_WINDOW_S = 7 * 24 * 3600.0
MAX_COMMENT_CHARS = 1000


class SurveyState(StrEnum):
    ASKED_SOLVED = "asked_solved"  # a ticket's follow-up: waiting for "solved?" (a rating is taken here too)
    ASKED = "asked"  # waiting for the rating
    RATED = "rated"  # waiting for the optional comment
    DONE = "done"


AWAITING_ANSWER = frozenset({SurveyState.ASKED_SOLVED, SurveyState.ASKED})


@dataclass(frozen=True)
class Survey:
    """One survey. `ticket` is set for a ticket's follow-up (None: after a live chat); `solved` is the customer's
    answer to "is the problem solved?" (None: not given); times are epoch seconds."""

    id: str
    conversation_id: str
    agent_id: str
    state: SurveyState
    score: int | None
    comment: str
    asked_at: float
    rated_at: float | None
    ticket: str | None = None
    solved: bool | None = None
    reminded_at: float | None = None
    customer_id: str = ""
    channel: str = ""
    language: str = ""

    @property
    def last_asked_at(self) -> float:
        return max(self.asked_at, self.reminded_at or 0.0)

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
            "ticket": self.ticket,
            "solved": self.solved,
            "reminded_at": self.reminded_at,
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
        ticket=row["ticket"],
        solved=None if row["solved"] is None else bool(row["solved"]),
        reminded_at=None if row["reminded_at"] is None else float(row["reminded_at"]),
        customer_id=row["customer_id"],
        channel=row["channel"],
        language=row["language"],
    )


class SurveyStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time, recorder: Recorder | None = None) -> None:
        self._db = db
        self._clock = clock
        self._recorder = recorder

    def _record(self, kind: ServiceEventKind, survey: Survey, at: float, **data: Any) -> None:
        if self._recorder is None:
            return
        self._recorder.emit(
            ServiceEvent(
                kind=kind,
                at=at,
                actor=BOT if kind is ServiceEventKind.SURVEY_SENT else CUSTOMER,
                conversation_id=survey.conversation_id,
                customer_id=survey.customer_id,
                ticket=survey.ticket,
                agent=survey.agent_id,
                channel=survey.channel,
                language=survey.language,
                data={"survey": survey.id, **data},
            )
        )

    async def ask(
        self,
        conversation_id: str,
        agent_id: str = "",
        *,
        ticket: str | None = None,
        customer_id: str = "",
        channel: str = "",
        language: str = "",
    ) -> Survey:
        """A new survey: after a live chat it waits for the rating; a ticket's follow-up first for "solved?"."""
        survey = Survey(
            id=f"srv_{secrets.token_hex(8)}",
            conversation_id=conversation_id,
            agent_id=agent_id,
            state=SurveyState.ASKED_SOLVED if ticket else SurveyState.ASKED,
            score=None,
            comment="",
            asked_at=self._clock(),
            rated_at=None,
            ticket=ticket,
            customer_id=customer_id,
            channel=channel,
            language=language,
        )
        await self._db.execute(
            insert(handoff_surveys).values(
                id=survey.id,
                conversation_id=conversation_id,
                agent_id=agent_id,
                state=survey.state.value,
                asked_at=survey.asked_at,
                ticket=ticket,
                customer_id=customer_id,
                channel=channel,
                language=language,
            )
        )
        self._record(ServiceEventKind.SURVEY_SENT, survey, survey.asked_at, follow_up=ticket is not None)
        return survey

    async def get(self, survey_id: str) -> Survey | None:
        row = await self._db.fetchrow(select(handoff_surveys).where(handoff_surveys.c.id == survey_id))
        return _survey(row) if row else None

    async def latest(self, conversation_id: str) -> Survey | None:
        row = await self._db.fetchrow(
            select(handoff_surveys)
            .where(handoff_surveys.c.conversation_id == conversation_id)
            .order_by(handoff_surveys.c.asked_at.desc(), handoff_surveys.c.id.desc())
            .limit(1)
        )
        return _survey(row) if row else None

    async def open_for(self, conversation_id: str, customer_id: str = "", channel: str = "") -> Survey | None:
        """The survey a message in this conversation may answer: the conversation's latest, while it waits for an
        answer (within `ANSWER_WINDOW_S` of being asked) or a comment (within `COMMENT_WINDOW_S` of the rating);
        else, given the customer and channel, their latest unanswered follow-up asked in another conversation on
        that channel (a WeChat thread that was closed for silence). None when nothing is open."""
        survey = await self.latest(conversation_id)
        if survey is not None and survey.state is not SurveyState.DONE:
            return survey if self._still_open(survey) else None
        if survey is not None or not customer_id:
            return None
        row = await self._db.fetchrow(
            select(handoff_surveys)
            .where(
                handoff_surveys.c.customer_id == customer_id,
                handoff_surveys.c.channel == channel,
                handoff_surveys.c.ticket.is_not(None),
            )
            .order_by(handoff_surveys.c.asked_at.desc(), handoff_surveys.c.id.desc())
            .limit(1)
        )
        other = _survey(row) if row else None
        return other if other is not None and other.state in AWAITING_ANSWER and self._still_open(other) else None

    def _still_open(self, survey: Survey) -> bool:
        now = self._clock()
        if survey.state is SurveyState.RATED:
            return survey.rated_at is not None and now - survey.rated_at <= COMMENT_WINDOW_S
        return survey.state in AWAITING_ANSWER and now - survey.last_asked_at <= ANSWER_WINDOW_S

    async def answer_solved(self, survey_id: str, solved: bool) -> Survey | None:
        """asked_solved → asked (now the rating); None if the question was no longer open (a duplicate answer)."""
        now = self._clock()
        changed = await self._db.execute(
            update(handoff_surveys)
            .where(handoff_surveys.c.id == survey_id, handoff_surveys.c.state == SurveyState.ASKED_SOLVED.value)
            .values(solved=solved, state=SurveyState.ASKED.value)
        )
        survey = await self.get(survey_id) if changed else None
        if survey is not None:
            self._record(ServiceEventKind.SURVEY_ANSWERED, survey, now, answer="solved", solved=solved)
        return survey

    async def rate(self, survey_id: str, score: int) -> Survey | None:
        """Score an open survey (a second rating before the comment changes the score); None if it was done."""
        now = self._clock()
        changed = await self._db.execute(
            update(handoff_surveys)
            .where(handoff_surveys.c.id == survey_id, handoff_surveys.c.state != SurveyState.DONE.value)
            .values(score=score, state=SurveyState.RATED.value, rated_at=now)
        )
        survey = await self.get(survey_id) if changed else None
        if survey is not None:
            self._record(ServiceEventKind.SURVEY_ANSWERED, survey, now, answer="score", score=score)
        return survey

    async def awaiting_comment(self, conversation_id: str) -> Survey | None:
        survey = await self.latest(conversation_id)
        if survey is None or survey.state is not SurveyState.RATED or survey.rated_at is None:
            return None
        return survey if self._clock() - survey.rated_at <= COMMENT_WINDOW_S else None

    async def finish(self, survey_id: str, comment: str = "") -> bool:
        """rated → done with an optional comment; False if it was already done (a duplicate delivery)."""
        now = self._clock()
        changed = await self._db.execute(
            update(handoff_surveys)
            .where(handoff_surveys.c.id == survey_id, handoff_surveys.c.state == SurveyState.RATED.value)
            .values(comment=comment[:MAX_COMMENT_CHARS], state=SurveyState.DONE.value, commented_at=now)
        )
        if changed and comment and self._recorder is not None:
            survey = await self.get(survey_id)
            if survey is not None:
                self._record(ServiceEventKind.SURVEY_ANSWERED, survey, now, answer="comment", comment=survey.comment)
        return changed > 0

    async def mark_reminded(self, survey_id: str) -> Survey | None:
        """Note that the open question was asked again (once); None when it was answered meanwhile or reminded."""
        changed = await self._db.execute(
            update(handoff_surveys)
            .where(
                handoff_surveys.c.id == survey_id,
                handoff_surveys.c.state.in_([s.value for s in AWAITING_ANSWER]),
                handoff_surveys.c.reminded_at.is_(None),
            )
            .values(reminded_at=self._clock())
        )
        return await self.get(survey_id) if changed else None
