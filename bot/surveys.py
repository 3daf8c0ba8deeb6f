"""The satisfaction survey as the customer meets it, after a live chat and after a resolved ticket (回访): one dialogue
for both.

Owns the survey's texts and buttons, the order of its questions — ("is the problem solved?" →) rating 1–5 → an
optional comment — and how answers are read. A rating is always a rating, at any open step: a star button, a typed
"5", "５", "五", "5分", "4/5" or "★★★★★". "Solved?" is answered by its buttons, in words, or on WeChat by the number
of its option. Typed answers count only while the survey is what we last said in the chat (an agent's or the bot's
later message means the customer is talking about something else), and a question (or a request for a person) typed
instead of an answer is not one: it goes to the bot, and the survey stays open. What an answer does to a ticket (a
reopen, a supervisor's follow-up task) is the `SurveyOutcomes`' (`bot.follow_ups`).

Must never send an answer to Rasa, change a ticket itself, or deliver anything: callers post the drafts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

from aiohttp import web

from bot.keys import CONVERSATIONS, DATABASE, RECORD, SURVEYS
from bot.pipeline import NUMBERED_BUTTON_CHANNELS
from conversations.models import Button, Conversation, Sender
from conversations.store import ConversationStore, MessageDraft
from conversations.surveys import Survey, SurveyState, SurveyStore
from handoff.requests import asks_for_a_person
from i18n import LANGUAGES, N_, translate

log = logging.getLogger(__name__)

RATE_PAYLOAD_PREFIX = "/fd_rate"
RATE_SKIP_PAYLOAD = "/fd_rate_skip"
SOLVED_PAYLOAD = "/fd_solved"
NOT_SOLVED_PAYLOAD = "/fd_not_solved"
# Every survey payload starts with one of these (the skip button's starts with the rating's).
SURVEY_PAYLOAD_PREFIXES = (RATE_PAYLOAD_PREFIX, SOLVED_PAYLOAD, NOT_SOLVED_PAYLOAD)
_RATE = re.compile(r"^/fd_rate(\{.*\})$")
# How far back the transcript is read to see whether the survey is what the customer is answering.
CONTEXT_MESSAGES = 20

RATE_QUESTION = N_("How satisfied are you with the help you got? (1 = poor, 5 = excellent)")

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CHINESE_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_RATING = re.compile(
    r"^(?P<n>[1-5一二两三四五])\s*(?:分|星|颗星|stars?|points?|/\s*5|out of 5)?$",
    re.IGNORECASE,
)
_STARS = frozenset("★⭐🌟")
_TRAILING = "!！.。~～ "
_PUNCTUATION = re.compile(r"[\s!！.。,，、~～]+")
_SOLVED_WORDS = frozenset(
    {"yes", "y", "yep", "yeah", "solved", "resolved", "fixed", "yes solved", "是", "是的", "对", "好了", "解决了",
     "已解决", "已经解决了", "解决了谢谢", "是已解决"}
)  # fmt: skip
_NOT_SOLVED_WORDS = frozenset(
    {"no", "n", "nope", "not yet", "not solved", "no not yet", "unsolved", "否", "不", "不是", "没有", "没", "没解决",
     "没有解决", "未解决", "还没", "还没有", "还没解决", "否还没有"}
)  # fmt: skip
_QUESTION_START = re.compile(
    r"^(how|what|why|when|where|who|which|can|could|do|does|did|is|are|will|would|should|may)\b"
    r"|^(请问|怎么|怎样|如何|为什么|为何|能不能|能否|可不可以|可以|哪|什么时候|多久|有没有|是否)",
    re.IGNORECASE,
)


def rating_buttons() -> tuple[Button, ...]:
    return tuple(Button(str(score), f'{RATE_PAYLOAD_PREFIX}{{"score":{score}}}') for score in range(1, 6))


def solved_buttons(language: str) -> tuple[Button, ...]:
    return (
        Button(translate(language, "Yes, solved"), SOLVED_PAYLOAD),
        Button(translate(language, "No, not yet"), NOT_SOLVED_PAYLOAD),
    )


def parse_rating(payload: str) -> int | None:
    """The score of a rating button's payload (`/fd_rate{"score":5}`); None for anything else."""
    match = _RATE.match(payload)
    if match is None:
        return None
    try:
        score = json.loads(match.group(1)).get("score")
    except (ValueError, AttributeError):
        return None
    return score if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5 else None


def typed_rating(text: str) -> int | None:
    """1–5 from a typed rating — "5", "５", "五", "5分", "5 stars", "4/5", "★★★★" — or None for anything else."""
    clean = text.translate(_FULLWIDTH_DIGITS).replace("\ufe0f", "").strip().rstrip(_TRAILING).strip()
    if clean and all(c in _STARS or c.isspace() for c in clean):
        stars = sum(c in _STARS for c in clean)
        return stars if stars <= 5 else None
    match = _RATING.match(clean)
    if match is None:
        return None
    n = match.group("n")
    return int(n) if n.isdigit() else _CHINESE_NUMERALS[n]


def _normalised(text: str) -> str:
    return _PUNCTUATION.sub(" ", text.lower()).strip()


def typed_solved(text: str) -> bool | None:
    """True for "yes"/"solved"/"解决了", False for "no"/"not yet"/"还没", None for anything else; the buttons' own
    titles (in either language) count too."""
    clean = _normalised(text)
    titles = {_normalised(b.title): b.payload == SOLVED_PAYLOAD for lang in LANGUAGES for b in solved_buttons(lang)}
    if clean in titles:
        return titles[clean]
    if clean in _SOLVED_WORDS or clean.replace(" ", "") in _SOLVED_WORDS:
        return True
    if clean in _NOT_SOLVED_WORDS or clean.replace(" ", "") in _NOT_SOLVED_WORDS:
        return False
    return None


def looks_like_question(text: str) -> bool:
    """A question rather than a comment: it ends with a question mark or 吗/呢, or starts like one."""
    clean = text.strip()
    return clean.endswith(("?", "？", "吗", "呢")) or bool(_QUESTION_START.match(clean))


@dataclass(frozen=True)
class Answer:
    """What a message said to the survey: `kind` is `solved` (with `solved`), `rate` (with `score`), `skip` or
    `comment` (with `text`)."""

    kind: Literal["solved", "rate", "skip", "comment"]
    solved: bool | None = None
    score: int | None = None
    text: str = ""


class SurveyOutcomes(Protocol):
    """What an answer does beyond the survey (a ticket's follow-up: reopen, a supervisor's task, the timeline)."""

    async def answered(self, survey: Survey, answer: Answer) -> None:
        """`survey` as the answer left it."""
        ...


class SurveyDialogue:
    """The pipeline's `SurveyAnswers`, and what the live chat's wrap-up and the follow-up ask with."""

    def __init__(self, store: ConversationStore, surveys: SurveyStore, outcomes: SurveyOutcomes | None = None) -> None:
        self._store = store
        self.surveys = surveys
        self.outcomes = outcomes

    # -- asking ------------------------------------------------------------------------------------------------------

    async def ask_after_chat(self, conversation_id: str, agent_id: str, language: str) -> MessageDraft:
        # Who was asked on which channel: the service record counts surveys per customer and channel.
        conversation = await self._store.get_conversation(conversation_id)
        survey = await self.surveys.ask(
            conversation_id,
            agent_id,
            customer_id=conversation.customer_id,
            channel=conversation.channel,
            language=language,
        )
        return MessageDraft(
            Sender.BOT, translate(language, RATE_QUESTION), buttons=rating_buttons(), custom={"survey": survey.id}
        )

    async def ask_follow_up(
        self, conversation: Conversation, ticket: str, language: str
    ) -> tuple[Survey, MessageDraft]:
        survey = await self.surveys.ask(
            conversation.id,
            ticket=ticket,
            customer_id=conversation.customer_id,
            channel=conversation.channel,
            language=language,
        )
        text = translate(language, "Your ticket {number} has been resolved. Is your problem solved?", number=ticket)
        custom = {"survey": survey.id, "follow_up": ticket}
        return survey, MessageDraft(Sender.BOT, text, buttons=solved_buttons(language), custom=custom)

    async def reminder(self, survey_id: str, language: str) -> MessageDraft | None:
        """The open question once more (once); None when it was answered meanwhile or already reminded."""
        survey = await self.surveys.mark_reminded(survey_id)
        if survey is None:
            return None
        custom = {"survey": survey.id, "reminder": True}
        number = survey.ticket or ""
        if survey.state is SurveyState.ASKED_SOLVED:
            text = translate(
                language, "A quick reminder about your ticket {number}: is your problem solved?", number=number
            )
            return MessageDraft(Sender.BOT, text, buttons=solved_buttons(language), custom=custom)
        text = translate(
            language,
            "A quick reminder about your ticket {number}: how satisfied are you with how we handled it? "
            "(1 = poor, 5 = excellent)",
            number=number,
        )
        return MessageDraft(Sender.BOT, text, buttons=rating_buttons(), custom=custom)

    # -- answers -----------------------------------------------------------------------------------------------------

    async def answer(self, conversation: Conversation, text: str, payload: str | None) -> list[MessageDraft] | None:
        if payload and not payload.startswith(SURVEY_PAYLOAD_PREFIXES):
            return None  # another button (on WeChat, the number of another message's option)
        survey = await self.surveys.open_for(conversation.id, conversation.customer_id, conversation.channel)
        if payload:
            # A survey button is the survey's even when stale or malformed: it never reaches Rasa.
            answer = _from_payload(payload) if survey is not None else None
            if survey is None or answer is None:
                return []
        elif survey is None or not await self._being_asked(conversation.id, survey):
            return None
        else:
            answer = self._typed(survey, conversation, text)
            if answer is None:
                return None
        language = survey.language or (await self._store.get_conversation(conversation.id)).language or "en"
        return await self._apply(survey, answer, language)

    def _typed(self, survey: Survey, conversation: Conversation, text: str) -> Answer | None:
        clean = text.strip()
        if not clean:
            return None
        if survey.state is SurveyState.ASKED_SOLVED:
            # WeChat shows the two options numbered: "1" and "2" choose them there (in a new thread too).
            if conversation.channel in NUMBERED_BUTTON_CHANNELS and clean in ("1", "2"):
                return Answer("solved", solved=clean == "1")
            solved = typed_solved(clean)
            if solved is not None:
                return Answer("solved", solved=solved)
        score = typed_rating(clean)
        if score is not None:
            return Answer("rate", score=score)
        # A question, or a request for a person, typed after the rating is not a comment: the bot answers it.
        if survey.state is SurveyState.RATED and not looks_like_question(clean) and not asks_for_a_person(clean):
            return Answer("comment", text=clean)
        return None

    async def _being_asked(self, conversation_id: str, survey: Survey) -> bool:
        """Whether the survey is what we last said here: the latest message the customer saw from us is the
        survey's (or, in a new WeChat thread, nothing yet)."""
        for message in reversed(await self._store.recent(conversation_id, CONTEXT_MESSAGES)):
            if message.sender in (Sender.BOT, Sender.AGENT, Sender.SYSTEM):
                return message.custom.get("survey") == survey.id
        return survey.conversation_id != conversation_id

    async def _apply(self, survey: Survey, answer: Answer, language: str) -> list[MessageDraft]:
        custom = {"survey": survey.id}
        if answer.kind == "solved" and answer.solved is not None:
            if survey.state is not SurveyState.ASKED_SOLVED:
                return []  # already answered (a second tap)
            updated = await self.surveys.answer_solved(survey.id, answer.solved)
            if updated is None:
                return []
            await self._outcome(updated, answer)
            text = (
                translate(
                    language, "Glad to hear it! How satisfied are you with how we handled it? (1 = poor, 5 = excellent)"
                )
                if answer.solved
                else translate(
                    language,
                    "Sorry to hear that. We have passed your ticket {number} back to our team, and a colleague will "
                    "be in touch. How satisfied are you with our help so far? (1 = poor, 5 = excellent)",
                    number=survey.ticket or "",
                )
            )
            return [MessageDraft(Sender.BOT, text, buttons=rating_buttons(), custom=custom)]
        if answer.kind == "rate" and answer.score is not None:
            rated = await self.surveys.rate(survey.id, answer.score)
            if rated is None:
                return []
            await self._outcome(rated, answer)
            skip = Button(translate(language, "No thanks"), RATE_SKIP_PAYLOAD)
            return [
                MessageDraft(
                    Sender.BOT,
                    translate(
                        language, "Thank you! Anything you would like to add? Type a comment, or tap “No thanks”."
                    ),
                    buttons=(skip,),
                    custom=custom | {"score": rated.score},
                )
            ]
        if answer.kind == "skip":
            if survey.state is not SurveyState.RATED or not await self.surveys.finish(survey.id):
                return []
            return [MessageDraft(Sender.BOT, translate(language, "Thanks for your feedback!"), custom=custom)]
        if answer.kind == "comment":
            if not await self.surveys.finish(survey.id, answer.text):
                return []
            finished = await self.surveys.get(survey.id)
            await self._outcome(finished or survey, answer)
            return [
                MessageDraft(Sender.BOT, translate(language, "Thanks, we have passed your comment on."), custom=custom)
            ]
        return []

    async def _outcome(self, survey: Survey, answer: Answer) -> None:
        if self.outcomes is None:
            return
        try:
            await self.outcomes.answered(survey, answer)
        except Exception:
            # The customer's answer is stored; what it should have set off is in the log to redo by hand.
            log.exception("survey outcome failed for %s", survey.id)


def _from_payload(payload: str) -> Answer | None:
    if payload == RATE_SKIP_PAYLOAD:
        return Answer("skip")
    if payload == SOLVED_PAYLOAD:
        return Answer("solved", solved=True)
    if payload == NOT_SOLVED_PAYLOAD:
        return Answer("solved", solved=False)
    score = parse_rating(payload)
    return Answer("rate", score=score) if score is not None else None


SURVEY_DIALOGUE = web.AppKey("survey_dialogue", SurveyDialogue)


async def survey_context(app: web.Application) -> AsyncIterator[None]:
    """The survey store and dialogue, before handoff (which asks after a chat) and the pipeline (which hands it
    the answers); the follow-up context sets its outcomes."""
    surveys = SurveyStore(app[DATABASE], recorder=app.get(RECORD))
    app[SURVEYS] = surveys
    app[SURVEY_DIALOGUE] = SurveyDialogue(app[CONVERSATIONS], surveys)
    yield


__all__ = [
    "NOT_SOLVED_PAYLOAD",
    "RATE_PAYLOAD_PREFIX",
    "RATE_SKIP_PAYLOAD",
    "SOLVED_PAYLOAD",
    "SURVEY_DIALOGUE",
    "Answer",
    "SurveyDialogue",
    "SurveyOutcomes",
    "looks_like_question",
    "parse_rating",
    "rating_buttons",
    "solved_buttons",
    "survey_context",
    "typed_rating",
    "typed_solved",
]
