"""The one survey dialogue (after a live chat and the ticket follow-up) with no server: how typed answers are read,
that a rating is always a rating, that a question or a later message from us is not an answer, and that a WeChat
customer back in a new thread still answers the question they were asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends.sql import open_database
from bot.surveys import (
    NOT_SOLVED_PAYLOAD,
    SOLVED_PAYLOAD,
    Answer,
    SurveyDialogue,
    looks_like_question,
    typed_rating,
    typed_solved,
)
from conversations.models import Conversation, Sender
from conversations.store import ConversationStore, MessageDraft
from conversations.surveys import ANSWER_WINDOW_S, Survey, SurveyState, SurveyStore
from migrations import upgrade_database


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Outcomes:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool | None, int | None]] = []

    async def answered(self, survey: Survey, answer: Answer) -> None:
        self.seen.append((survey.id, answer.kind, survey.solved, survey.score))


class Parts:
    def __init__(self, store: ConversationStore, dialogue: SurveyDialogue, outcomes: Outcomes, clock: Clock) -> None:
        self.store, self.dialogue, self.outcomes, self.clock = store, dialogue, outcomes, clock

    async def conversation(self, channel: str = "web", sender: str = "visitor") -> Conversation:
        customer, _ = await self.store.customer_for_identity(channel, sender)
        return await self.store.create_conversation(customer.id, channel, language="en", external_id=sender)

    async def post(self, conversation: Conversation, draft: MessageDraft) -> None:
        await self.store.append(conversation.id, [draft])

    async def says(self, conversation: Conversation, text: str, payload: str | None = None) -> list[str] | None:
        """What the dialogue answers (None: not a survey answer), with the message recorded first as the pipeline
        does."""
        await self.store.append(conversation.id, [MessageDraft(Sender.CUSTOMER, text)])
        drafts = await self.dialogue.answer(conversation, text, payload)
        if drafts is None:
            return None
        await self.store.append(conversation.id, drafts)
        return [d.text for d in drafts]


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[Parts]:
    db = await open_database(f"sqlite:///{tmp_path / 's.db'}")
    await upgrade_database(db)
    clock = Clock()
    store = ConversationStore(db, clock)
    outcomes = Outcomes()
    yield Parts(store, SurveyDialogue(store, SurveyStore(db, clock), outcomes), outcomes, clock)
    await db.close()


@pytest.mark.parametrize(
    ("text", "score"),
    [("5", 5), (" 4 ", 4), ("五", 5), ("两分", 2), ("３", 3), ("5分", 5), ("4 stars", 4), ("4/5", 4), ("★★", 2),
     ("⭐️⭐️⭐️⭐️⭐️", 5), ("5!", 5), ("6", None), ("0", None), ("★★★★★★", None), ("55", None), ("5 minutes", None),
     ("a 5 would be unfair", None), ("", None)],
)  # fmt: skip
def test_typed_ratings(text: str, score: int | None) -> None:
    assert typed_rating(text) == score


def test_typed_solved_and_questions() -> None:
    assert [typed_solved(t) for t in ("Yes", "solved!", "解决了", "是的，已解决", "Yes, solved")] == [True] * 5
    assert [typed_solved(t) for t in ("no", "Not yet.", "还没", "没有解决", "No, not yet")] == [False] * 5
    assert typed_solved("maybe tomorrow") is None
    assert all(map(looks_like_question, ["How do I descale it?", "怎么退货", "可以换货吗", "what about the lid"]))
    assert not any(map(looks_like_question, ["Ann was very patient", "Ann 很耐心", "Quick and friendly."]))


async def test_after_a_live_chat_a_typed_chinese_rating_is_a_rating_and_the_next_text_the_comment(
    parts: Parts,
) -> None:
    conversation = await parts.conversation()
    await parts.post(conversation, await parts.dialogue.ask_after_chat(conversation.id, "ann", "en"))
    assert await parts.says(conversation, "五") == [
        "Thank you! Anything you would like to add? Type a comment, or tap “No thanks”."
    ]
    assert await parts.says(conversation, "Ann was very patient") == ["Thanks, we have passed your comment on."]
    survey = await parts.dialogue.surveys.latest(conversation.id)
    assert survey is not None and (survey.state, survey.score, survey.comment) == (
        SurveyState.DONE,
        5,
        "Ann was very patient",
    )
    assert await parts.says(conversation, "5") is None  # done: a "5" now is just text for the bot


async def test_a_request_for_a_person_after_the_rating_is_not_taken_as_the_comment(parts: Parts) -> None:
    conversation = await parts.conversation()
    await parts.post(conversation, await parts.dialogue.ask_after_chat(conversation.id, "ann", "zh"))
    assert await parts.says(conversation, "4") is not None
    assert await parts.says(conversation, "还有个问题，帮我转人工") is None  # the bot's: it hands off
    survey = await parts.dialogue.surveys.latest(conversation.id)
    assert survey is not None and (survey.state, survey.score, survey.comment) == (SurveyState.RATED, 4, "")


async def test_a_typed_answer_counts_only_while_the_survey_is_what_we_last_said(parts: Parts) -> None:
    conversation = await parts.conversation()
    await parts.post(conversation, await parts.dialogue.ask_after_chat(conversation.id, "ann", "en"))
    await parts.post(conversation, MessageDraft(Sender.AGENT, "How many kettles did you order?", sender_id="bob"))
    assert await parts.says(conversation, "2") is None  # an answer to Bob, not a rating
    assert await parts.says(conversation, "2", payload='/fd_rate{"score":2}') is not None  # the button still counts
    survey = await parts.dialogue.surveys.latest(conversation.id)
    assert survey is not None and survey.score == 2


async def test_stale_survey_buttons_never_reach_the_bot_and_old_questions_expire(parts: Parts) -> None:
    conversation = await parts.conversation()
    assert await parts.says(conversation, "5", payload='/fd_rate{"score":5}') == []  # no survey: swallowed
    assert await parts.says(conversation, "Yes, solved", payload=SOLVED_PAYLOAD) == []
    assert await parts.says(conversation, "5") is None
    await parts.post(conversation, await parts.dialogue.ask_after_chat(conversation.id, "ann", "en"))
    assert await parts.says(conversation, "6", payload='/fd_rate{"score":6}') == []  # malformed: swallowed too
    parts.clock.now += ANSWER_WINDOW_S + 1
    assert await parts.says(conversation, "5") is None  # a week later, "5" is not a rating any more


async def test_the_follow_up_reads_solved_then_the_rating_and_tells_the_outcomes(parts: Parts) -> None:
    conversation = await parts.conversation()
    survey, question = await parts.dialogue.ask_follow_up(conversation, "FD-000007", "en")
    await parts.post(conversation, question)
    assert await parts.says(conversation, "hmm, what do you mean?") is None  # a question: the bot's
    await parts.post(conversation, MessageDraft(Sender.BOT, "echo"))
    assert await parts.says(conversation, "No, not yet", payload=NOT_SOLVED_PAYLOAD) is not None  # buttons count
    assert await parts.says(conversation, "No, not yet", payload=NOT_SOLVED_PAYLOAD) == []  # a second tap: nothing
    replies = await parts.says(conversation, "1")
    assert replies is not None and replies[0].startswith("Thank you!")
    assert parts.outcomes.seen == [(survey.id, "solved", False, None), (survey.id, "rate", False, 1)]


async def test_a_wechat_customer_back_in_a_new_thread_answers_the_question_by_its_number(parts: Parts) -> None:
    old = await parts.conversation("wechat", "openid-1")
    survey, question = await parts.dialogue.ask_follow_up(old, "FD-000008", "zh")
    await parts.post(old, question)
    new = await parts.store.create_conversation(old.customer_id, "wechat", external_id="openid-1")  # idle-closed
    replies = await parts.says(new, "1")  # "1. 是的，已解决"
    assert replies is not None and "满意" in replies[0]  # in the language of the thread it was asked in
    assert await parts.says(new, "四") is not None
    answered = await parts.dialogue.surveys.get(survey.id)
    assert answered is not None and (answered.solved, answered.score) == (True, 4)
    other, _ = await parts.store.customer_for_identity("wechat", "openid-2")
    stranger = await parts.store.create_conversation(other.id, "wechat", external_id="openid-2")
    assert await parts.says(stranger, "1") is None  # someone else's question is not theirs to answer
