"""Each emitter sends the facts it owns, with its ids filled and only once the change happened: conversations, the
pipeline's customer messages and bot turns, ownership transitions (over both handoff stores), tickets, surveys and
KB feedback. A `MemoryRecorder` stands in for the writer (the writer's own tests cover the way to SQL)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from actions.feedback import FeedbackRecord, MemoryFeedbackRecorder, RecordedFeedback
from backends.bus import MemoryEventBus
from backends.sql import Database
from bot.channels.base import InboundMessage
from bot.pipeline import ConversationPipeline
from conversations.models import Sender
from conversations.store import ConversationStore
from conversations.surveys import SurveyStore
from handoff import (
    HandoffService,
    HandoffStore,
    HandoffTrigger,
    MemoryHandoffStore,
    Presence,
    ReasonCode,
    RedisHandoffStore,
    RoutingSettings,
)
from intake import BusinessCalendar, WeeklyHours
from intake.models import Category, Priority, TicketDraft, TicketStatus
from intake.recording import TicketFacts
from intake.sla import SlaDeadlines
from intake.tickets import TicketStore
from record import MemoryRecorder, ServiceEvent, ServiceEventKind
from tests.conftest import redis_database
from tests.handoff.conftest import T0, FakeClock, agent

K = ServiceEventKind
RECORD_REDIS_DB = 9


def kinds(recorder: MemoryRecorder) -> list[str]:
    return [e.kind.value for e in recorder.events]


class Ticks:
    """A clock that moves one second per call."""

    def __init__(self, start: float = 1000.0) -> None:
        self._ticks = itertools.count(start)

    def __call__(self) -> float:
        return float(next(self._ticks))


# -- conversations ----------------------------------------------------------------------------------------------------


async def test_a_conversation_is_recorded_opened_and_closed_once(database: Database) -> None:
    recorder = MemoryRecorder()
    store = ConversationStore(database, clock=Ticks(), recorder=recorder)
    customer, _ = await store.customer_for_identity("web", "visitor-1")
    conversation = await store.create_conversation(customer.id, "web", language="zh")
    await store.close_conversation(conversation.id)
    await store.close_conversation(conversation.id)  # again: already closed, no second fact
    opened, closed = recorder.events
    assert (opened.kind, opened.actor, opened.at) == (K.CONVERSATION_OPENED, "customer", conversation.created_at)
    assert (opened.conversation_id, opened.customer_id, opened.channel, opened.language) == (
        conversation.id,
        customer.id,
        "web",
        "zh",
    )
    assert (closed.kind, closed.actor, closed.customer_id, closed.channel) == (
        K.CONVERSATION_CLOSED,
        "customer",
        customer.id,
        "web",
    )
    assert closed.data == {"cause": "customer", "opened_at": conversation.created_at, "last_customer_at": None}


async def test_a_conversation_closed_for_silence_says_so(database: Database) -> None:
    recorder = MemoryRecorder()
    store = ConversationStore(database, clock=Ticks(), recorder=recorder)
    customer, _ = await store.customer_for_identity("wechat", "openid-1")
    conversation = await store.create_conversation(customer.id, "wechat")
    assert await store.open_conversation_for(customer.id, "wechat", idle_close_s=0.5) is None
    closed = recorder.of(K.CONVERSATION_CLOSED)
    assert [(e.conversation_id, e.actor, e.data["cause"]) for e in closed] == [(conversation.id, "system", "idle")]


# -- the pipeline -----------------------------------------------------------------------------------------------------


class ScriptedRasa:
    """Answers with `replies`."""

    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.replies = replies

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        return self.replies


class Gate:
    presence_interval_s = 30.0

    def __init__(self, bot_answers: bool = True) -> None:
        self._bot_answers = bot_answers

    async def bot_answers(self, conversation_id: str, customer_message: Any) -> bool:
        return self._bot_answers

    async def escalate(self, conversation: Any, request: dict[str, Any]) -> list[Any]:
        return []

    async def customers_present(self, conversation_ids: Sequence[str]) -> None:
        return None

    async def customer_left(self, conversation_id: str) -> bool:
        return False


KB_ANSWER = {
    "query": "how do I return my blender",
    "language": "en",
    "decision": "answer",
    "confidence": 0.83,
    "reason": "confident",
    "candidates": [
        {"entry_id": "faq_returns", "question": "How do I return an item?", "confidence": 0.83},
        {"entry_id": "faq_refunds", "question": "When is my refund paid?", "confidence": 0.31},
    ],
}


async def pipeline_with(
    database: Database, replies: list[dict[str, Any]], bot_answers: bool = True
) -> tuple[ConversationPipeline, ConversationStore, MemoryRecorder]:
    recorder = MemoryRecorder()
    store = ConversationStore(database, recorder=recorder)
    rasa = ScriptedRasa(replies)
    gate = Gate(bot_answers)
    pipeline = ConversationPipeline(store, rasa, MemoryEventBus(), gate, recorder=recorder)  # type: ignore[arg-type]
    return pipeline, store, recorder


async def test_a_bot_turn_records_its_intent_and_the_knowledge_bases_decision(database: Database) -> None:
    kb = {"kb": KB_ANSWER, "nlu": {"intent": "ask_question", "confidence": 0.94}}
    replies = [{"text": "Open Orders and press Return."}, {"text": "Was this helpful?"}, {"custom": kb}]
    pipeline, store, recorder = await pipeline_with(database, replies)
    conversation, _ = await pipeline.open_conversation("web", "visitor", language="en")
    await pipeline.receive(
        InboundMessage("web", "visitor", "how do I return my blender", conversation_id=conversation.id)
    )

    assert kinds(recorder) == ["conversation_opened", "customer_message", "bot_turn"]
    message, turn = recorder.events[1:]
    assert (message.actor, message.conversation_id, message.customer_id) == (
        "customer",
        conversation.id,
        conversation.customer_id,
    )
    assert message.data == {"button": False, "kind": "text"}
    assert (turn.actor, turn.conversation_id, turn.customer_id, turn.channel, turn.language) == (
        "bot",
        conversation.id,
        conversation.customer_id,
        "web",
        "en",
    )
    events = [m for m in await store.history(conversation.id) if m.sender is Sender.EVENT]
    assert {k: v for k, v in turn.data.items() if k != "rasa_ms"} == {
        "outcome": "bot",
        "intent": "ask_question",
        "intent_confidence": 0.94,
        "kb_decision": "answer",
        "kb_entry": "faq_returns",
        "kb_confidence": 0.83,
        "kb_reason": "confident",
        "kb_query": "how do I return my blender",
        "kb_runner_up": 0.31,
        "kb_seq": events[0].seq,
        "handoff_reason": None,
    }
    assert [m.custom for m in events] == [kb]


async def test_a_turn_that_hands_off_records_why(database: Database) -> None:
    handoff = {"reason": "kb_not_found", "category": "delivery", "scores": {"intent_confidence": 0.4}}
    replies = [
        {"custom": {"kb": {**KB_ANSWER, "decision": "not_found", "candidates": []}}},
        {"custom": {"handoff": handoff}},
    ]
    pipeline, _, recorder = await pipeline_with(database, replies)
    conversation, _ = await pipeline.open_conversation("web", "visitor")
    await pipeline.receive(InboundMessage("web", "visitor", "where is it", conversation_id=conversation.id))
    (turn,) = recorder.of(K.BOT_TURN)
    assert turn.category == "delivery"
    assert (turn.data["outcome"], turn.data["handoff_reason"], turn.data["kb_decision"], turn.data["kb_entry"]) == (
        "handoff",
        "kb_not_found",
        "not_found",
        None,
    )
    assert turn.data["intent_confidence"] == 0.4  # from the handoff's scores when no nlu payload came


async def test_without_a_kb_or_handoff_payload_the_intent_comes_from_the_channels_nlu_reply(
    database: Database,
) -> None:
    """Rasa's channel ends every turn with the classification (rasa_addons/channels.py): a fact of the turn, never a
    line of the transcript."""
    nlu = {"custom": {"nlu": {"intent": "greet", "confidence": 0.88}}}
    pipeline, store, recorder = await pipeline_with(database, [{"text": "Hi! How can I help?"}, nlu])
    conversation, _ = await pipeline.open_conversation("web", "visitor")
    replies = await pipeline.receive(InboundMessage("web", "visitor", "hello", conversation_id=conversation.id))
    (turn,) = recorder.of(K.BOT_TURN)
    assert (turn.data["intent"], turn.data["intent_confidence"], turn.data["kb_decision"]) == ("greet", 0.88, None)
    assert [m.text for m in replies] == ["Hi! How can I help?"]
    assert [m.sender for m in await store.history(conversation.id)] == [Sender.CUSTOMER, Sender.BOT]


async def test_while_an_agent_owns_the_chat_a_message_is_recorded_and_no_bot_turn(database: Database) -> None:
    pipeline, _, recorder = await pipeline_with(database, [{"text": "never"}], bot_answers=False)
    conversation, _ = await pipeline.open_conversation("web", "visitor")
    await pipeline.receive(InboundMessage("web", "visitor", "hello?", conversation_id=conversation.id))
    assert kinds(recorder) == ["conversation_opened", "customer_message"]


# -- ownership --------------------------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def handoff_store(request: pytest.FixtureRequest) -> AsyncIterator[HandoffStore]:
    if request.param == "memory":
        yield MemoryHandoffStore()
        return
    async with redis_database(RECORD_REDIS_DB) as client:
        yield RedisHandoffStore(client)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def service_with(store: HandoffStore, clock: FakeClock, recorder: MemoryRecorder, **settings: Any) -> HandoffService:
    return HandoffService(store, MemoryEventBus(), RoutingSettings(**settings), clock=clock, recorder=recorder)


async def test_every_ownership_transition_is_one_fact_with_its_ids(
    handoff_store: HandoffStore, clock: FakeClock
) -> None:
    recorder = MemoryRecorder()
    service = service_with(handoff_store, clock, recorder, assign_on_enqueue=False)
    for name in ("ann", "bob"):
        await service.register_agent(agent(name, "delivery"))
        await service.set_presence(name, Presence.ONLINE)
    trigger = HandoffTrigger(ReasonCode.CUSTOMER_REQUEST, {"intent_confidence": 0.97})
    await service.request_handoff(
        "c1", "cus_1", "zh", "delivery", "high", trigger=trigger, context={"channel": "wechat"}, tier="gold"
    )
    clock.advance(30)
    assert await service.claim("c1", "ann")
    clock.advance(10)
    assert await service.record_agent_reply("c1", "ann")
    clock.advance(5)
    assert await service.record_agent_reply("c1", "ann")
    assert not await service.record_agent_reply("c1", "bob")  # not theirs: no fact
    await service.transfer("c1", "ann", to_agent="bob", note="billing question")
    clock.advance(20)
    assert await service.record_agent_reply("c1", "bob")
    clock.advance(60)
    await service.close("c1", "bob", "refund issued")
    clock.advance(15)
    await service.finish_wrap_up("c1", "bob")

    assert kinds(recorder) == [
        "handoff_requested",
        "queued",
        "assigned",
        "agent_reply",
        "agent_reply",
        "transferred",
        "assigned",
        "agent_reply",
        "wrap_up",
        "back_to_bot",
    ]
    events = recorder.events
    assert {(e.conversation_id, e.customer_id, e.channel, e.language, e.category) for e in events} == {
        ("c1", "cus_1", "wechat", "zh", "delivery")
    }
    requested, queued, claimed, first, second, transferred, handed, bobs, wrap_up, back = events
    assert (requested.actor, requested.priority) == ("bot", "high")
    assert requested.data == {
        "reason": "customer_request",
        "scores": {"intent_confidence": 0.97},
        "tier": "gold",
        "outcome": "queued",
        "first_response_due": queued.data["first_response_due"],
    }
    assert (queued.queue, queued.data["cause"], queued.data["enqueued_at"], queued.data["position"]) == (
        "zh:delivery",
        "request",
        T0,
        1,
    )
    assert (claimed.actor, claimed.agent, claimed.at, claimed.data["via"], claimed.data["wait_s"]) == (
        "agent:ann",
        "ann",
        T0 + 30,
        "claim",
        30.0,
    )
    assert [(r.agent, r.at, r.data["first"]) for r in (first, second, bobs)] == [
        ("ann", T0 + 40, True),
        ("ann", T0 + 45, False),
        ("bob", T0 + 65, True),  # the first of bob's assignment
    ]
    assert (transferred.actor, transferred.agent, transferred.data) == (
        "agent:ann",
        "ann",
        {"from_agent": "ann", "to_agent": "bob", "to_queue": None},
    )
    assert (handed.actor, handed.agent, handed.data["via"]) == ("agent:ann", "bob", "transfer")
    assert (wrap_up.actor, wrap_up.agent, wrap_up.data) == (
        "agent:bob",
        "bob",
        {"handle_s": 80.0, "replied": True, "noted": True},
    )
    assert (back.actor, back.agent, back.data) == ("agent:bob", "bob", {"cause": "finished", "wrap_up_s": 15.0})


async def test_a_customer_who_leaves_the_queue_is_recorded_abandoned(
    handoff_store: HandoffStore, clock: FakeClock
) -> None:
    recorder = MemoryRecorder()
    service = service_with(handoff_store, clock, recorder)
    await service.request_handoff("c2", "cus_2", "en", context={"channel": "web"})
    clock.advance(42)
    assert await service.abandon("c2", "left")
    abandoned = recorder.of(K.ABANDONED)
    assert [(e.actor, e.customer_id, e.channel, e.data) for e in abandoned] == [
        ("customer", "cus_2", "web", {"cause": "left", "wait_s": 42.0})
    ]


async def test_a_request_outside_opening_hours_is_recorded_with_its_outcome(
    handoff_store: HandoffStore, clock: FakeClock
) -> None:
    recorder = MemoryRecorder()
    closed = BusinessCalendar("Asia/Shanghai", WeeklyHours.parse("Mon-Fri 09:00-18:00"))  # T0 is 22:13 there
    service = service_with(handoff_store, clock, recorder, calendar=closed)
    await service.request_handoff("c3", "cus_3", "zh", "billing", context={"channel": "web"})
    (requested,) = recorder.events
    assert (requested.kind, requested.category, requested.data["outcome"]) == (
        K.HANDOFF_REQUESTED,
        "billing",
        "closed_hours",
    )
    assert requested.data["next_open_at"] is not None


async def test_asking_again_while_queued_is_recorded_as_a_duplicate_request(
    handoff_store: HandoffStore, clock: FakeClock
) -> None:
    recorder = MemoryRecorder()
    service = service_with(handoff_store, clock, recorder)
    await service.request_handoff("c4", "cus_4", "en")
    await service.request_handoff("c4", "cus_4", "en")
    assert kinds(recorder) == ["handoff_requested", "queued", "handoff_requested"]
    assert recorder.events[-1].data["duplicate"] is True


async def test_an_assignment_nobody_answers_is_recorded_requeued_then_reassigned(
    handoff_store: HandoffStore, clock: FakeClock
) -> None:
    recorder = MemoryRecorder()
    service = service_with(handoff_store, clock, recorder, unanswered_timeout_s=60.0)
    for name in ("ann", "bob"):
        await service.register_agent(agent(name, "general", languages=("en",)))
    await service.set_presence("ann", Presence.ONLINE)
    await service.request_handoff("c5", "cus_5", "en")  # assigned at once to ann
    await service.set_presence("bob", Presence.ONLINE)
    clock.advance(61)
    await service.requeue_unanswered()
    assert kinds(recorder) == ["handoff_requested", "queued", "assigned", "queued", "assigned"]
    assert [(e.data.get("via"), e.data.get("cause"), e.agent) for e in recorder.events[1:]] == [
        (None, "request", None),
        ("auto", None, "ann"),
        (None, "unanswered", None),
        ("auto", None, "bob"),
    ]
    assert recorder.events[2].data["wait_s"] == 0.0


# -- tickets ----------------------------------------------------------------------------------------------------------


async def test_a_tickets_life_is_recorded_from_its_timeline(database: Database) -> None:
    recorder = MemoryRecorder()
    tickets = TicketStore(database, clock=Ticks())
    tickets.add_listener(TicketFacts(recorder))
    draft = TicketDraft(
        customer_id="cus_1", conversation_id="conv_1", category=Category.DELIVERY, language="zh", order_number="1"
    )
    ticket = await tickets.create(
        draft, priority=Priority.URGENT, deadlines=SlaDeadlines(5000.0, 9000.0), channel="wechat"
    )
    await tickets.add_note(ticket.number, "internal", actor="ann")
    await tickets.add_reply(ticket.number, "我们在查", actor="ann")
    await tickets.add_reply(ticket.number, "已找到", actor="ann")
    await tickets.transition(ticket.number, TicketStatus.RESOLVED, actor="ann")
    await tickets.customer_message("conv_1")  # within 7 days: reopens

    assert kinds(recorder) == [
        "ticket_created",
        "ticket_status",
        "ticket_first_response",
        "ticket_reply",
        "ticket_status",
        "ticket_resolved",
        "ticket_status",
        "ticket_reopened",
    ]
    created, auto_open, first, _, _, resolved, _, reopened = recorder.events
    assert {
        (e.ticket, e.conversation_id, e.customer_id, e.channel, e.language, e.category) for e in recorder.events
    } == {(ticket.number, "conv_1", "cus_1", "wechat", "zh", "delivery")}
    assert (created.actor, created.priority, created.data) == (
        "bot",
        "urgent",
        {"urgency": None, "first_response_due": 5000.0, "resolution_due": 9000.0, "order": True},
    )
    assert (auto_open.actor, auto_open.data) == ("agent:ann", {"from": "new", "to": "open", "auto": True})
    assert (first.actor, first.agent, first.data) == ("agent:ann", "ann", {"due": 5000.0, "created_at": created.at})
    assert resolved.data["due"] == 9000.0 and resolved.data["first_responded_at"] == first.at
    assert reopened.actor == "customer"


# -- surveys ----------------------------------------------------------------------------------------------------------


async def test_a_survey_is_recorded_sent_and_each_answer_taken(database: Database) -> None:
    recorder = MemoryRecorder()
    surveys = SurveyStore(database, clock=Ticks(), recorder=recorder)
    survey = await surveys.ask("conv_1", "ann", customer_id="cus_1", channel="web", language="en")
    await surveys.rate(survey.id, 3)
    await surveys.rate(survey.id, 5)  # changed their mind before commenting: a second answer, the last counts
    assert await surveys.finish(survey.id, "quick and kind")
    assert not await surveys.finish(survey.id, "again")  # already done: no fact
    follow_up = await surveys.ask("conv_1", ticket="FD-000001", customer_id="cus_1", channel="web")
    await surveys.answer_solved(follow_up.id, False)

    assert kinds(recorder) == [
        "survey_sent",
        "survey_answered",
        "survey_answered",
        "survey_answered",
        "survey_sent",
        "survey_answered",
    ]
    sent, low, high, comment, asked, solved = recorder.events
    assert (sent.actor, sent.conversation_id, sent.customer_id, sent.agent, sent.channel) == (
        "bot",
        "conv_1",
        "cus_1",
        "ann",
        "web",
    )
    assert sent.data == {"survey": survey.id, "follow_up": False}
    assert [e.data for e in (low, high, comment)] == [
        {"survey": survey.id, "answer": "score", "score": 3},
        {"survey": survey.id, "answer": "score", "score": 5},
        {"survey": survey.id, "answer": "comment", "comment": "quick and kind"},
    ]
    assert (asked.ticket, asked.data["follow_up"]) == ("FD-000001", True)
    assert (solved.actor, solved.ticket, solved.data) == (
        "customer",
        "FD-000001",
        {"survey": follow_up.id, "answer": "solved", "solved": False},
    )


# -- KB feedback ------------------------------------------------------------------------------------------------------


async def test_a_helpful_click_is_recorded_once_stored() -> None:
    recorder, stored = MemoryRecorder(), MemoryFeedbackRecorder()
    feedback = RecordedFeedback(stored, recorder)
    click = FeedbackRecord("conv_1", "cus_1", "faq_returns", "how to return", "en", False, 0.71, 1234.0)
    await feedback.record(click)
    assert stored.records == [click]
    assert recorder.events == [
        ServiceEvent(
            id=recorder.events[0].id,
            kind=K.KB_FEEDBACK,
            at=1234.0,
            actor="customer",
            conversation_id="conv_1",
            customer_id="cus_1",
            language="en",
            data={"helpful": False, "kb_entry": "faq_returns", "kb_confidence": 0.71},
        )
    ]
