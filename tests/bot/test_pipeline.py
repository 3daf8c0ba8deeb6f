"""The pipeline's own rules, with a scripted stand-in for Rasa's REST reply (the e2e tests use the real Rasa)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from backends.bus import MemoryEventBus
from backends.sql import open_database
from bot.channels.base import InboundMessage
from bot.exceptions import BotUnavailable
from bot.pipeline import ConversationPipeline, conversation_topic
from conversations.models import Button, Conversation, Message, Sender
from conversations.store import ConversationStore, MessageDraft
from migrations import upgrade_database


class ScriptedRasa:
    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = [{"text": "Hi!"}]
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = False

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        self.received.append((sender, text, metadata))
        if self.fail:
            raise BotUnavailable("down")
        return self.replies


class RecordingGate:
    presence_interval_s = 30.0

    def __init__(self) -> None:
        self.bot_may_answer = True
        self.escalations: list[dict[str, Any]] = []

    async def bot_answers(self, conversation_id: str, customer_message: Message) -> bool:
        return self.bot_may_answer

    async def escalate(self, conversation: Conversation, request: dict[str, Any]) -> list[MessageDraft]:
        self.escalations.append(request)
        return [MessageDraft(Sender.SYSTEM, "queued")]

    async def customers_present(self, conversation_ids: Sequence[str]) -> None:
        return None

    async def customer_left(self, conversation_id: str) -> bool:
        return False


class RecordingSurveys:
    """Takes rating payloads and a typed "5" as answers; anything else is the bot's."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []

    async def answer(self, conversation: Conversation, text: str, payload: str | None) -> list[MessageDraft] | None:
        self.asked.append((text, payload))
        if (payload or "").startswith("/fd_rate") or (payload is None and text == "5"):
            return [MessageDraft(Sender.BOT, "rated")]
        return None


@pytest.fixture
async def parts(tmp_path: Path) -> Any:
    db = await open_database(f"sqlite:///{tmp_path / 'p.db'}")
    store = ConversationStore(db)
    await upgrade_database(db)
    rasa, gate, bus = ScriptedRasa(), RecordingGate(), MemoryEventBus()
    pipeline = ConversationPipeline(store, rasa, bus, gate, surveys=RecordingSurveys())  # type: ignore[arg-type]
    yield pipeline, rasa, gate, store, bus
    await db.close()


async def test_the_customer_message_is_recorded_even_when_the_bot_fails(parts: Any) -> None:
    pipeline, rasa, gate, store, _ = parts
    rasa.fail = True
    conversation, _ = await pipeline.open_conversation("web", "visitor")
    replies = await pipeline.receive(InboundMessage("web", "visitor", "hello", conversation_id=conversation.id))
    history = await store.history(conversation.id)
    assert history[0].sender is Sender.CUSTOMER and history[0].text == "hello"
    assert gate.escalations[0]["reason"] == "bot_error"
    assert [m.text for m in replies] == ["queued"]


async def test_a_handoff_signal_is_recorded_and_escalated(parts: Any) -> None:
    pipeline, rasa, gate, store, _ = parts
    rasa.replies = [{"text": "One moment."}, {"custom": {"handoff": {"reason": "customer_request"}}}]
    conversation, _ = await pipeline.open_conversation("web", "v")
    replies = await pipeline.receive(InboundMessage("web", "v", "human please", conversation_id=conversation.id))
    assert [m.sender for m in replies] == [Sender.BOT, Sender.SYSTEM]
    assert gate.escalations == [{"reason": "customer_request"}]
    events = [m for m in await store.history(conversation.id) if m.sender is Sender.EVENT]
    assert events[0].custom == {"handoff": {"reason": "customer_request"}}


async def test_the_bot_stays_silent_while_a_human_owns_the_conversation(parts: Any) -> None:
    pipeline, rasa, gate, _, bus = parts
    gate.bot_may_answer = False
    conversation, _ = await pipeline.open_conversation("web", "v")
    async with bus.subscribe(conversation_topic(conversation.id)) as sub:
        replies = await pipeline.receive(InboundMessage("web", "v", "are you there?", conversation_id=conversation.id))
        _, event = await sub.get()
    assert replies == [] and rasa.received == []
    assert event["message"]["text"] == "are you there?"  # the agent's console hears it on the bus


async def test_only_payloads_of_offered_buttons_reach_rasa(parts: Any) -> None:
    pipeline, rasa, _, _, _ = parts
    rasa.replies = [{"text": "Helpful?", "buttons": [{"title": "Yes", "payload": '/kb_feedback{"helpful":"yes"}'}]}]
    conversation, _ = await pipeline.open_conversation("web", "v")
    inbound = InboundMessage("web", "v", "/request_human", conversation_id=conversation.id, payload="/forged")
    await pipeline.receive(inbound)
    assert rasa.received[-1][1] == "request_human"  # typed slash commands are plain text to NLU
    await pipeline.receive(
        InboundMessage("web", "v", "Yes", conversation_id=conversation.id, payload='/kb_feedback{"helpful":"yes"}')
    )
    assert rasa.received[-1][1] == '/kb_feedback{"helpful":"yes"}'


async def test_a_plain_request_for_a_person_beside_a_problem_reaches_rasa_as_that_intent(parts: Any) -> None:
    pipeline, rasa, _, _, _ = parts
    conversation, _ = await pipeline.open_conversation("web", "v")
    await pipeline.receive(
        InboundMessage("web", "v", "my kettle is broken, I want a human", conversation_id=conversation.id)
    )
    assert rasa.received[-1][1] == "/request_human"  # not the problem report the NLU would read: no form starts
    history = await pipeline.store.history(conversation.id)
    assert history[0].text == "my kettle is broken, I want a human"  # the transcript keeps what the customer wrote
    await pipeline.receive(InboundMessage("web", "v", "my kettle is broken", conversation_id=conversation.id))
    assert rasa.received[-1][1] == "my kettle is broken"


async def test_wechat_customers_choose_a_button_by_typing_its_number(parts: Any) -> None:
    pipeline, rasa, _, _, _ = parts
    rasa.replies = [{"text": "Which?", "buttons": [{"title": "A", "payload": "/a"}, {"title": "B", "payload": "/b"}]}]
    await pipeline.receive(InboundMessage("wechat", "openid-1", "hello"))
    await pipeline.receive(InboundMessage("wechat", "openid-1", "2"))
    assert rasa.received[-1][1] == "/b"
    await pipeline.receive(InboundMessage("wechat", "openid-1", "7"))
    assert rasa.received[-1][1] == "7"
    # Any decimal digits a phone keyboard types choose too (fullwidth, Arabic-Indic); a superscript is just text.
    for typed, expected in (("１", "/a"), ("٢", "/b"), ("²", "²")):
        await pipeline.receive(InboundMessage("wechat", "openid-1", "hello"))
        await pipeline.receive(InboundMessage("wechat", "openid-1", typed))
        assert rasa.received[-1][1] == expected, typed


async def test_a_payload_the_channel_itself_chose_needs_no_offered_button(parts: Any) -> None:
    pipeline, rasa, _, _, _ = parts
    await pipeline.receive(InboundMessage("wechat", "openid-2", "", payload="/greet", trusted_payload=True))
    assert rasa.received[-1][1] == "/greet"
    await pipeline.receive(InboundMessage("wechat", "openid-2", "", payload="/forged"))
    assert rasa.received[-1][1] == ""


async def test_survey_answers_are_the_surveys_not_rasas(parts: Any) -> None:
    pipeline, rasa, _, _, _ = parts
    conversation, _ = await pipeline.open_conversation("web", "v")
    rate = '/fd_rate{"score":5}'
    await pipeline.post_notice(conversation.id, [MessageDraft(Sender.BOT, "Rate us", buttons=(Button("5", rate),))])
    replies = await pipeline.receive(InboundMessage("web", "v", "5", conversation_id=conversation.id, payload=rate))
    assert [m.text for m in replies] == ["rated"] and rasa.received == []
    typed = await pipeline.receive(InboundMessage("web", "v", "5", conversation_id=conversation.id))
    assert [m.text for m in typed] == ["rated"] and rasa.received == []
    await pipeline.receive(InboundMessage("web", "v", "how do I descale it?", conversation_id=conversation.id))
    assert [text for _, text, _ in rasa.received] == ["how do I descale it?"]


async def test_the_language_of_each_message_is_passed_to_rasa(parts: Any) -> None:
    pipeline, rasa, _, store, _ = parts
    conversation, _ = await pipeline.open_conversation("web", "v")
    await pipeline.receive(InboundMessage("web", "v", "我的快递到哪了", conversation_id=conversation.id))
    assert rasa.received[-1][2]["lang"] == "zh"
    assert (await store.get_conversation(conversation.id)).language == "zh"


async def test_an_email_typed_into_a_chinese_conversation_keeps_it_chinese(parts: Any) -> None:
    pipeline, rasa, _, store, _ = parts
    conversation, _ = await pipeline.open_conversation("web", "v")
    await pipeline.receive(InboundMessage("web", "v", "我的快递到哪了", conversation_id=conversation.id))
    await pipeline.receive(InboundMessage("web", "v", "wang.fang@example.cn", conversation_id=conversation.id))
    assert rasa.received[-1][2]["lang"] == "zh"
    assert (await store.get_conversation(conversation.id)).language == "zh"
