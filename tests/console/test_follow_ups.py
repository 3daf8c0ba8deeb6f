"""The follow-up after resolution (回访), end to end in the front door: asked after the delay, reminded once, "not
solved" reopens the ticket, a low score is a supervisor's task, every form of rating is a rating, and a question typed
instead is answered by the bot — on the web chat and on WeChat."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alerts import AlertStore
from bot.keys import CONVERSATIONS, DATABASE, DELIVERIES, FOLLOW_UPS, SURVEYS, TICKETS
from conversations.surveys import SurveyState
from intake.follow_ups import FollowUpStep
from intake.models import EventKind, Priority, TicketDraft, TicketStatus
from tests.console.conftest import ChatCustomer, Running, console_app, console_settings, wechat_app
from tests.wechat.wechat_fakes import OPENID, FakeWeChatAPI

HOUR_S = 3600.0
DAY_S = 24 * HOUR_S
SOLVED = "/fd_solved"
NOT_SOLVED = "/fd_not_solved"


def rate(score: int) -> str:
    return f'/fd_rate{{"score":{score}}}'


@pytest.fixture
async def running(tmp_path: Path, rasa_url: str) -> AsyncIterator[Running]:
    """The front door with in-process state: follow-ups keep nothing in Redis."""
    async with console_app(console_settings(tmp_path, rasa_url, "")) as harness:
        yield harness


async def supervisor_alerts(running: Running) -> list[Any]:
    return await AlertStore(running.app[DATABASE]).for_member("sam", ["supervisor"])


async def resolved_ticket(running: Running, language: str = "en") -> tuple[ChatCustomer, str, float]:
    """A web customer's ticket, resolved now; returns the customer, the number and the resolution time."""
    customer = await running.customer(language)
    await customer.say("你好" if language == "zh" else "hello")
    customer_id = (await running.app[CONVERSATIONS].get_conversation(customer.conversation_id)).customer_id
    draft = TicketDraft(customer_id, customer.conversation_id, description="kettle leaks", language=language)
    ticket = await running.app[TICKETS].create(draft, priority=Priority.NORMAL)
    resolved = await running.app[TICKETS].transition(ticket.number, TicketStatus.RESOLVED, actor="ann")
    assert resolved is not None and resolved.resolved_at is not None
    return customer, ticket.number, resolved.resolved_at


async def asked(running: Running, language: str = "en") -> tuple[ChatCustomer, str, dict[str, Any]]:
    """A resolved ticket whose follow-up question the customer has just been asked."""
    customer, number, resolved_at = await resolved_ticket(running, language)
    taken = await running.app[FOLLOW_UPS].run_pass(resolved_at + HOUR_S)
    assert [(t.number, t.step) for t in taken] == [(number, FollowUpStep.ASK)]
    question = await customer.wait_for(lambda m: any(b["payload"] == SOLVED for b in m["buttons"]))
    return customer, number, question


async def survey_of(running: Running, customer: ChatCustomer) -> Any:
    survey = await running.app[SURVEYS].latest(customer.conversation_id)
    assert survey is not None
    return survey


async def test_the_customer_is_asked_after_the_delay_and_reminded_once(running: Running) -> None:
    customer, number, resolved_at = await resolved_ticket(running)
    follow_ups = running.app[FOLLOW_UPS]
    assert await follow_ups.run_pass(resolved_at + HOUR_S - 1) == []  # the default delay: one hour
    assert not [m for m in await customer.history() if m["buttons"]]

    taken = await follow_ups.run_pass(resolved_at + HOUR_S)
    assert [(t.step, t.sent) for t in taken] == [(FollowUpStep.ASK, True)]
    question = await customer.wait_for(lambda m: any(b["payload"] == SOLVED for b in m["buttons"]))
    assert question["text"] == f"Your ticket {number} has been resolved. Is your problem solved?"
    assert [b["title"] for b in question["buttons"]] == ["Yes, solved", "No, not yet"]
    assert await follow_ups.run_pass(resolved_at + HOUR_S + 60) == []  # asked once

    asked_at = resolved_at + HOUR_S
    assert await follow_ups.run_pass(asked_at + DAY_S - 1) == []
    taken = await follow_ups.run_pass(asked_at + DAY_S)
    assert [(t.step, t.sent) for t in taken] == [(FollowUpStep.REMIND, True)]
    reminder = await customer.wait_for(lambda m: "reminder" in m["text"])
    assert reminder["text"] == f"A quick reminder about your ticket {number}: is your problem solved?"
    assert await follow_ups.run_pass(asked_at + 3 * DAY_S) == []  # one reminder, never a second
    assert len([m for m in await customer.history() if m["buttons"]]) == 2

    deliveries = await running.app[DELIVERIES].for_ticket(number)
    assert [(d.purpose, d.channel, d.ok) for d in deliveries if d.purpose.startswith("follow_up")] == [
        ("follow_up", "web", True),
        ("follow_up_reminder", "web", True),
    ]
    (row,) = await follow_ups.for_ticket(number)
    assert row.step is FollowUpStep.DONE and row.due_at is None and row.reminded_at == asked_at + DAY_S


async def test_an_answered_follow_up_sends_no_reminder(running: Running) -> None:
    customer, number, _ = await asked(running)
    await customer.say("Yes, solved", payload=SOLVED)
    await customer.say("5", payload=rate(5))
    taken = await running.app[FOLLOW_UPS].run_pass(time.time() + 2 * DAY_S)
    assert [(t.number, t.step, t.sent) for t in taken] == [(number, FollowUpStep.REMIND, False)]
    assert not [m for m in await customer.history() if "reminder" in m["text"]]
    survey = await survey_of(running, customer)
    assert (survey.solved, survey.score, survey.reminded_at) == (True, 5, None)


async def test_not_solved_reopens_the_ticket_and_cancels_the_reminder(running: Running) -> None:
    customer, number, _ = await asked(running)
    replies = await customer.say("No, not yet", payload=NOT_SOLVED)
    assert [m["sender"] for m in replies] == ["bot"]
    assert f"We have passed your ticket {number} back to our team" in replies[0]["text"]
    assert [b["payload"] for b in replies[0]["buttons"]] == [rate(n) for n in range(1, 6)]

    ticket = await running.app[TICKETS].get_for_staff(number)
    assert ticket is not None and ticket.status is TicketStatus.OPEN
    timeline = await running.app[TICKETS].timeline(number)
    # The answer, the reopen, and the reopen's note (internal, like every note given with a change).
    assert [(e.kind, e.data.get("answer")) for e in timeline[-3:]] == [
        (EventKind.FOLLOW_UP, "not_solved"),
        (EventKind.STATUS, None),
        (EventKind.NOTE, None),
    ]
    assert timeline[-2].actor == "customer" and timeline[-2].data == {"from": "resolved", "to": "open"}
    assert not timeline[-1].public
    (row,) = await running.app[FOLLOW_UPS].for_ticket(number)
    assert row.step is FollowUpStep.CANCELLED
    # The customer asked for it: no "your ticket is now being worked on" notice besides the answer itself.
    assert not [m for m in await customer.history() if m["sender"] == "system" and "being worked on" in m["text"]]


async def test_not_solved_on_a_ticket_closed_meanwhile_is_a_supervisors_task(running: Running) -> None:
    customer, number, _ = await asked(running)
    await running.app[TICKETS].transition(number, TicketStatus.CLOSED, actor="ann")
    await customer.say("No, not yet", payload=NOT_SOLVED)  # the question is still open for them
    ticket = await running.app[TICKETS].get_for_staff(number)
    assert ticket is not None and ticket.status is TicketStatus.CLOSED  # closed is final
    (task,) = [e for e in await running.app[TICKETS].timeline(number) if e.kind is EventKind.FOLLOW_UP_TASK]
    assert task.data["reason"] == "not_solved"
    (alert,) = await supervisor_alerts(running)
    assert alert.title_in("en") == (
        f"Ticket {number} is closed, but the customer says the problem is not solved; please follow up"
    )


async def test_a_score_of_one_or_two_creates_a_supervisor_follow_up_task(running: Running) -> None:
    customer, number, _ = await asked(running)
    await customer.say("Yes, solved", payload=SOLVED)
    await customer.say("2", payload=rate(2))
    await customer.say("1", payload=rate(1))  # a second thought before the comment: still one task
    await customer.say("Took far too long")

    timeline = await running.app[TICKETS].timeline(number)
    answers = [(e.data.get("answer"), e.data.get("score"), e.body) for e in timeline if e.kind is EventKind.FOLLOW_UP]
    assert answers == [("solved", None, ""), ("rated", 2, ""), ("rated", 1, ""), ("comment", None, "Took far too long")]
    (task,) = [e for e in timeline if e.kind is EventKind.FOLLOW_UP_TASK]
    assert task.data == {"survey": task.data["survey"], "reason": "low_score", "for": "role:supervisor", "score": 2}
    assert not task.public
    (alert,) = await supervisor_alerts(running)
    assert (alert.kind, alert.params, alert.link) == (
        "follow_up_task",
        {"number": number, "score": 2},
        f"/console/tickets/{number}",
    )
    assert (
        alert.title_in("en")
        == f"Ticket {number}: the customer scored our help 2 of 5 in the follow-up; please follow up"
    )
    assert number in alert.title_in("zh") and "回访" in alert.title_in("zh")
    survey = await survey_of(running, customer)
    assert (survey.state, survey.score, survey.comment) == (SurveyState.DONE, 1, "Took far too long")
    ticket = await running.app[TICKETS].get_for_staff(number)
    assert ticket is not None and ticket.status is TicketStatus.RESOLVED  # answering never reopens it


async def test_a_good_score_creates_no_task(running: Running) -> None:
    customer, number, _ = await asked(running)
    await customer.say("Yes, solved", payload=SOLVED)
    await customer.say("3", payload=rate(3))
    await customer.say("No thanks", payload="/fd_rate_skip")
    assert not [e for e in await running.app[TICKETS].timeline(number) if e.kind is EventKind.FOLLOW_UP_TASK]
    assert await supervisor_alerts(running) == []


@pytest.mark.parametrize(
    ("typed", "payload", "score"),
    [
        ("5", None, 5),
        ("五", None, 5),
        ("５分", None, 5),
        ("4/5", None, 4),
        ("★★★", None, 3),
        ("⭐️⭐️⭐️⭐️", None, 4),
        ("2", rate(2), 2),  # a star button
    ],
    ids=["digit", "chinese", "fullwidth-fen", "slash", "stars", "emoji-stars", "button"],
)
async def test_every_form_of_rating_is_taken_as_a_rating(
    running: Running, typed: str, payload: str | None, score: int
) -> None:
    customer, _, _ = await asked(running, "zh")
    await customer.say("是的，已解决", payload=SOLVED)
    replies = await customer.say(typed, payload=payload)
    assert [m["sender"] for m in replies] == ["bot"] and "补充" in replies[0]["text"]
    survey = await survey_of(running, customer)
    assert (survey.state, survey.score) == (SurveyState.RATED, score)
    echoes = [m["text"] for m in await customer.history() if m["text"].startswith("echo:")]
    assert echoes == ["echo: 你好"]  # Rasa never saw the answers


async def test_a_rating_typed_instead_of_solved_is_still_a_rating(running: Running) -> None:
    customer, _, _ = await asked(running)
    await customer.say("5")
    survey = await survey_of(running, customer)
    assert (survey.score, survey.solved) == (5, None)


async def test_a_question_typed_instead_of_a_rating_is_answered_and_the_survey_stays_open(running: Running) -> None:
    customer, _, _ = await asked(running)
    await customer.say("Yes", payload=SOLVED)
    replies = await customer.say("how do I descale the kettle?")
    assert [m["text"] for m in replies] == ["echo: how do I descale the kettle?"]
    survey = await survey_of(running, customer)
    assert (survey.state, survey.solved, survey.score) == (SurveyState.ASKED, True, None)

    await customer.say("4", payload=rate(4))  # the rating buttons still count
    survey = await survey_of(running, customer)
    assert (survey.state, survey.score) == (SurveyState.RATED, 4)
    replies = await customer.say("What about the warranty?")  # a question, not the comment
    assert [m["text"] for m in replies] == ["echo: What about the warranty?"]
    assert (await survey_of(running, customer)).comment == ""


async def test_a_wechat_customer_answers_by_number_and_in_chinese(
    tmp_path: Path, rasa_url: str, fake_api: tuple[FakeWeChatAPI, str]
) -> None:
    async with wechat_app(tmp_path, rasa_url, "", fake_api) as wechat:
        app = wechat.running.app
        assert await wechat.push("你好", msg_id="9901")
        customer, _ = await app[CONVERSATIONS].customer_for_identity("wechat", OPENID)
        conversation = await app[CONVERSATIONS].open_conversation_for(customer.id, "wechat", DAY_S)
        assert conversation is not None
        draft = TicketDraft(customer.id, conversation.id, description="水壶漏水", language="zh")
        number = (await app[TICKETS].create(draft, priority=Priority.NORMAL, channel="wechat")).number
        resolved = await app[TICKETS].transition(number, TicketStatus.RESOLVED, actor="ann")
        assert resolved is not None and resolved.resolved_at is not None
        sends = len(wechat.api.sends)

        await app[FOLLOW_UPS].run_pass(resolved.resolved_at + HOUR_S)
        await wechat.api.wait_for_sends(sends + 1)
        question = wechat.api.sends[-1]["text"]["content"]
        assert f"您的工单 {number} 已处理完毕" in question and "1. 是的，已解决\n2. 还没有解决" in question

        solved = wechat.sim.read_reply(await wechat.push("1", msg_id="9902"), encrypted=True)
        assert "满意" in solved.content  # option 1: solved; then the rating
        rated = wechat.sim.read_reply(await wechat.push("五", msg_id="9903"), encrypted=True)
        assert "补充" in rated.content
        survey = await app[SURVEYS].latest(conversation.id)
        assert survey is not None and (survey.solved, survey.score) == (True, 5)
        ticket = await app[TICKETS].get_for_staff(number)
        assert ticket is not None and ticket.status is TicketStatus.RESOLVED


async def test_on_wechat_the_question_comes_before_the_48_hour_window_closes(
    tmp_path: Path, rasa_url: str, fake_api: tuple[FakeWeChatAPI, str]
) -> None:
    async with wechat_app(tmp_path, rasa_url, "", fake_api) as wechat:
        app = wechat.running.app
        assert await wechat.push("你好", msg_id="9911")
        customer, _ = await app[CONVERSATIONS].customer_for_identity("wechat", OPENID)
        conversation = await app[CONVERSATIONS].open_conversation_for(customer.id, "wechat", DAY_S)
        assert conversation is not None
        last_word = await app[CONVERSATIONS].last_customer_message_at(conversation.id)
        assert last_word is not None
        draft = TicketDraft(customer.id, conversation.id, language="zh")
        number = (await app[TICKETS].create(draft, priority=Priority.NORMAL, channel="wechat")).number
        follow_ups = app[FOLLOW_UPS]
        follow_ups.delay_s = 3 * DAY_S  # longer than the window: the question must come before it closes
        await app[TICKETS].transition(number, TicketStatus.RESOLVED, actor="ann")
        (row,) = await follow_ups.for_ticket(number)
        window_closes = last_word + 48 * HOUR_S
        assert row.due_at is not None and window_closes - HOUR_S < row.due_at < window_closes
        await follow_ups.run_pass(row.due_at)
        (row,) = await follow_ups.for_ticket(number)
        assert row.step is FollowUpStep.DONE  # no time left in the window for a reminder
