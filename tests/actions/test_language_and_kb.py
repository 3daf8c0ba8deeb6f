from dataclasses import replace
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import ActionAnswerFromKB, ActionHandoff, ActionKBFeedback, ActionServices
from actions.feedback import MemoryFeedbackRecorder
from kb.decision import Decision

from .conftest import (
    DOMAIN,
    ScriptedKB,
    bot_event,
    buttons,
    candidate,
    customs,
    kb_result,
    make_tracker,
    slot_sets,
    texts,
)

RETURNS = candidate("returns-en", "How do I return an item?", "Open Orders and press Return.", 0.91)
RETURNS_ZH = candidate("returns-zh", "如何退货？", "打开“我的订单”，点击“退货”。", 0.9)
SHIPPING = candidate("shipping-en", "How long does shipping take?", "3-5 business days.", 0.55)


async def run(action: Any, tracker: Any) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return dispatcher, events


# -- action_answer_from_kb --------------------------------------------------------------------------------------------


async def test_an_answer_is_given_with_helpful_buttons_and_the_kb_payload(
    services: ActionServices, kb: ScriptedKB
) -> None:
    kb.results.append(kb_result(Decision.ANSWER, RETURNS, query="how to return"))
    dispatcher, events = await run(
        ActionAnswerFromKB(services), make_tracker("how to return", intent="ask_question", slots={"language": "en"})
    )
    assert kb.queries == [("how to return", "en")]
    assert texts(dispatcher) == ["Open Orders and press Return.", "Was this helpful?"]
    assert [b["payload"] for b in buttons(dispatcher)] == [
        '/kb_feedback{"helpful":"yes"}',
        '/kb_feedback{"helpful":"no"}',
    ]
    assert customs(dispatcher, "kb")[0]["decision"] == "answer"
    assert customs(dispatcher, "handoff") == [] and events == []


async def test_a_chinese_answer_comes_with_chinese_buttons(services: ActionServices, kb: ScriptedKB) -> None:
    kb.results.append(kb_result(Decision.ANSWER, RETURNS_ZH, language="zh"))
    dispatcher, _ = await run(
        ActionAnswerFromKB(services), make_tracker("怎么退货", intent="ask_question", slots={"language": "zh"})
    )
    assert texts(dispatcher) == ["打开“我的订单”，点击“退货”。", "这个回答对您有帮助吗？"]
    assert [b["title"] for b in buttons(dispatcher)] == ["有帮助", "没有帮助"]


async def test_clarify_offers_the_candidates_as_buttons_that_ask_that_exact_entry(
    services: ActionServices, kb: ScriptedKB
) -> None:
    kb.results.append(kb_result(Decision.CLARIFY, RETURNS, SHIPPING, RETURNS_ZH, SHIPPING))
    dispatcher, _ = await run(ActionAnswerFromKB(services), make_tracker("return shipping", intent="ask_question"))
    assert texts(dispatcher) == ["I want to get this right. Did you mean one of these?"]
    payloads = [b["payload"] for b in buttons(dispatcher)]
    assert payloads[:3] == [
        '/ask_question{"kb_entry":"returns-en"}',
        '/ask_question{"kb_entry":"shipping-en"}',
        '/ask_question{"kb_entry":"returns-zh"}',
    ]
    assert payloads[-1] == "/request_human" and len(payloads) == 4
    assert customs(dispatcher, "kb")[0]["decision"] == "clarify"


async def test_picking_a_clarify_button_answers_that_entry_without_searching_again(
    services: ActionServices, kb: ScriptedKB
) -> None:
    clarify = kb_result(Decision.CLARIFY, RETURNS, SHIPPING, query="return shipping")
    text = '/ask_question{"kb_entry":"shipping-en"}'
    tracker = make_tracker(
        text,
        intent="ask_question",
        entities=[{"entity": "kb_entry", "value": "shipping-en"}],
        history=[bot_event({"kb": clarify.to_dict()})],
    )
    dispatcher, _ = await run(ActionAnswerFromKB(services), tracker)
    assert kb.queries == []
    assert texts(dispatcher)[0] == "3-5 business days."
    card = customs(dispatcher, "kb")[0]
    assert card["decision"] == "answer" and card["candidates"][0]["entry_id"] == "shipping-en"


async def test_a_stale_clarify_button_asks_again_instead_of_guessing(services: ActionServices, kb: ScriptedKB) -> None:
    tracker = make_tracker('/ask_question{"kb_entry":"gone"}', intent="ask_question", slots={"language": "zh"})
    dispatcher, _ = await run(ActionAnswerFromKB(services), tracker)
    assert texts(dispatcher) == ["抱歉，这个选项已失效。请您再问一次好吗？"] and kb.queries == []


@pytest.mark.parametrize("intent", ["ask_question", "nlu_fallback"])
async def test_the_first_miss_asks_to_rephrase_with_a_human_button(
    services: ActionServices, kb: ScriptedKB, intent: str
) -> None:
    kb.results.append(replace(kb_result(Decision.NOT_FOUND, SHIPPING), confidence=0.3))
    dispatcher, _ = await run(ActionAnswerFromKB(services), make_tracker("blorp the flux", intent=intent))
    assert texts(dispatcher) == ["Sorry, I couldn't find an answer to that. Could you rephrase your question?"]
    assert buttons(dispatcher) == [{"title": "Talk to a human", "payload": "/request_human"}]
    assert customs(dispatcher, "handoff") == []
    assert customs(dispatcher, "kb")[0]["decision"] == "not_found"


async def test_the_second_miss_in_a_row_hands_off(services: ActionServices, kb: ScriptedKB) -> None:
    miss = replace(kb_result(Decision.NOT_FOUND, query="first try"), confidence=0.3)
    kb.results.append(miss)
    tracker = make_tracker(
        "second try", intent="ask_question", slots={"language": "zh"}, history=[bot_event({"kb": miss.to_dict()})]
    )
    dispatcher, _ = await run(ActionAnswerFromKB(services), tracker)
    handoff = customs(dispatcher, "handoff")
    assert handoff and handoff[0]["reason"] == "repeated_not_found"
    assert handoff[0]["scores"]["consecutive_not_found"] == 2.0
    assert texts(dispatcher) == ["正在为您转接人工客服，请稍候，不要离开对话。"]


async def test_a_miss_after_an_answer_starts_counting_again(services: ActionServices, kb: ScriptedKB) -> None:
    miss = replace(kb_result(Decision.NOT_FOUND), confidence=0.3)
    answer = kb_result(Decision.ANSWER, RETURNS)
    kb.results.append(miss)
    history = [bot_event({"kb": miss.to_dict()}), bot_event({"kb": answer.to_dict()})]
    dispatcher, _ = await run(ActionAnswerFromKB(services), make_tracker("hm", intent="ask_question", history=history))
    assert customs(dispatcher, "handoff") == []


async def test_a_hopeless_miss_hands_off_at_once_when_the_policy_says_so(
    services: ActionServices, kb: ScriptedKB
) -> None:
    kb.results.append(kb_result(Decision.NOT_FOUND))  # confidence 0.1 < handoff's kb_no_match_confidence 0.2
    dispatcher, _ = await run(ActionAnswerFromKB(services), make_tracker("zzz", intent="nlu_fallback"))
    assert customs(dispatcher, "handoff")[0]["reason"] == "kb_not_found"


async def test_a_failing_knowledge_base_hands_off_as_a_bot_error(services: ActionServices, kb: ScriptedKB) -> None:
    kb.results.append(RuntimeError("index missing"))
    dispatcher, _ = await run(ActionAnswerFromKB(services), make_tracker("how to return", intent="ask_question"))
    assert customs(dispatcher, "handoff")[0]["reason"] == "bot_error"


# -- action_kb_feedback -----------------------------------------------------------------------------------------------


def feedback_tracker(helpful: str, language: str = "en") -> Any:
    answered = kb_result(Decision.ANSWER, RETURNS, query="how to return")
    return make_tracker(
        f'/kb_feedback{{"helpful":"{helpful}"}}',
        intent="kb_feedback",
        entities=[{"entity": "helpful", "value": helpful}],
        slots={"language": language, "helpful": helpful},
        history=[bot_event({"kb": answered.to_dict()})],
    )


async def test_helpful_feedback_is_recorded_against_the_answered_entry(
    services: ActionServices, feedback: MemoryFeedbackRecorder
) -> None:
    dispatcher, events = await run(ActionKBFeedback(services), feedback_tracker("yes"))
    assert texts(dispatcher) == ["Glad I could help!"]
    record = feedback.records[0]
    assert (record.entry_id, record.query, record.helpful, record.customer_id) == (
        "returns-en",
        "how to return",
        True,
        "cust-1",
    )
    assert slot_sets(events) == {"helpful": None}


async def test_unhelpful_feedback_hands_off_with_reason_unhelpful_answer(
    services: ActionServices, feedback: MemoryFeedbackRecorder
) -> None:
    dispatcher, _ = await run(ActionKBFeedback(services), feedback_tracker("no", "zh"))
    assert feedback.records[0].helpful is False
    handoff = customs(dispatcher, "handoff")[0]
    assert handoff["reason"] == "unhelpful_answer" and handoff["fields"]["kb_entry"] == "returns-en"
    assert texts(dispatcher) == ["正在为您转接人工客服，请稍候，不要离开对话。"]


async def test_unhelpful_feedback_offers_a_human_when_the_policy_does_not_hand_off(
    services: ActionServices,
) -> None:
    class NeverHandOff:
        def evaluate(self, facts: Any) -> None:
            return None

    services.handoff_policy = NeverHandOff()
    dispatcher, _ = await run(ActionKBFeedback(services), feedback_tracker("no"))
    assert customs(dispatcher, "handoff") == []
    assert buttons(dispatcher) == [{"title": "Talk to a human", "payload": "/request_human"}]


async def test_feedback_without_a_value_asks_again(services: ActionServices, feedback: MemoryFeedbackRecorder) -> None:
    dispatcher, _ = await run(ActionKBFeedback(services), make_tracker("/kb_feedback", intent="kb_feedback"))
    assert feedback.records == [] and texts(dispatcher) == ["Was this helpful?"]


# -- action_handoff ---------------------------------------------------------------------------------------------------


async def test_asking_for_a_human_hands_off_with_the_collected_fields_then_forgets_the_report(
    services: ActionServices,
) -> None:
    tracker = make_tracker(
        "I want to talk to a person",
        intent="request_human",
        slots={"order_number": "1000000001", "category": "service_complaint", "language": "en"},
        active_loop="issue_form",
    )
    dispatcher, events = await run(ActionHandoff(services), tracker)
    handoff = customs(dispatcher, "handoff")[0]
    assert handoff["reason"] == "customer_request"
    assert handoff["fields"]["order_number"] == "1000000001" and handoff["category"] == "service_complaint"
    assert {"event": "active_loop", "name": None} in [
        {"event": e["event"], "name": e.get("name")} for e in events if e["event"] == "active_loop"
    ]
    cleared = slot_sets(events)
    assert cleared["requested_slot"] is None and cleared["order_number"] is None and cleared["category"] is None
    assert "contact" not in cleared  # still how the agent reaches them


async def test_asking_for_a_human_outside_a_form_changes_no_state(services: ActionServices) -> None:
    dispatcher, events = await run(ActionHandoff(services), make_tracker("转人工", intent="request_human"))
    assert events == [] and customs(dispatcher, "handoff")[0]["reason"] == "customer_request"
