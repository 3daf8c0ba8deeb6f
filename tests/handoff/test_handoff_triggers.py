"""The handoff policy: each reason code fires on its facts, in the documented precedence, under its settings."""

from __future__ import annotations

import pytest

from handoff import HandoffPolicy, HandoffSettings, Priority, ReasonCode, TurnFacts

policy = HandoffPolicy()


def reason(facts: TurnFacts, settings: HandoffSettings | None = None) -> ReasonCode | None:
    trigger = HandoffPolicy(settings).evaluate(facts)
    return trigger.reason if trigger else None


def test_an_ordinary_answered_turn_needs_no_human() -> None:
    facts = TurnFacts(intent="ask_question", intent_confidence=0.93, kb_decision="answer", kb_confidence=0.81)
    assert policy.evaluate(facts) is None


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (TurnFacts(asked_for_human=True), ReasonCode.CUSTOMER_REQUEST),
        (TurnFacts(intent="request_human", intent_confidence=0.9), ReasonCode.CUSTOMER_REQUEST),
        (TurnFacts(bot_error=True), ReasonCode.BOT_ERROR),
        (TurnFacts(timeout=True), ReasonCode.BOT_ERROR),
        (TurnFacts(urgency="urgent", category="delivery"), ReasonCode.URGENT_CATEGORY),
        (TurnFacts(category="service_complaint", urgency="normal"), ReasonCode.COMPLAINT),
        (TurnFacts(form_stuck=True), ReasonCode.FORM_STUCK),
        (TurnFacts(kb_decision="answer", kb_confidence=0.7, helpful=False), ReasonCode.UNHELPFUL_ANSWER),
        (
            TurnFacts(kb_decision="not_found", kb_confidence=0.35, consecutive_not_found=2),
            ReasonCode.REPEATED_NOT_FOUND,
        ),
        (TurnFacts(kb_decision="not_found", kb_confidence=0.05, consecutive_not_found=1), ReasonCode.KB_NOT_FOUND),
        (TurnFacts(intent="nlu_fallback", intent_confidence=0.2, kb_decision="clarify"), ReasonCode.LOW_CONFIDENCE),
    ],
)
def test_each_reason_fires_on_its_facts(facts: TurnFacts, expected: ReasonCode) -> None:
    assert reason(facts) is expected


def test_a_first_near_miss_lets_the_bot_ask_again() -> None:
    assert reason(TurnFacts(kb_decision="not_found", kb_confidence=0.35, consecutive_not_found=1)) is None


def test_low_intent_confidence_is_no_reason_when_the_kb_answered() -> None:
    assert reason(TurnFacts(intent="nlu_fallback", intent_confidence=0.1, kb_decision="answer")) is None


def test_helpful_feedback_is_no_reason() -> None:
    assert reason(TurnFacts(helpful=True)) is None


def test_the_customers_own_request_outranks_everything() -> None:
    facts = TurnFacts(
        asked_for_human=True,
        bot_error=True,
        urgency="urgent",
        category="service_complaint",
        form_stuck=True,
        helpful=False,
        kb_decision="not_found",
        consecutive_not_found=5,
    )
    assert reason(facts) is ReasonCode.CUSTOMER_REQUEST


def test_precedence_follows_the_documented_order() -> None:
    facts = TurnFacts(
        bot_error=True,
        urgency="urgent",
        category="service_complaint",
        form_stuck=True,
        helpful=False,
        kb_decision="not_found",
        kb_confidence=0.0,
        consecutive_not_found=5,
        intent_confidence=0.1,
    )
    order = []
    for drop in ("bot_error", "urgency", "category", "form_stuck", "helpful", "consecutive_not_found", "kb_decision"):
        trigger = policy.evaluate(facts)
        assert trigger is not None
        order.append(trigger.reason)
        facts = TurnFacts(**{**facts.__dict__, drop: TurnFacts.__dataclass_fields__[drop].default})
    assert order == [
        ReasonCode.BOT_ERROR,
        ReasonCode.URGENT_CATEGORY,
        ReasonCode.COMPLAINT,
        ReasonCode.FORM_STUCK,
        ReasonCode.UNHELPFUL_ANSWER,
        ReasonCode.REPEATED_NOT_FOUND,
        ReasonCode.KB_NOT_FOUND,
    ]
    last = policy.evaluate(facts)
    assert last is not None and last.reason is ReasonCode.LOW_CONFIDENCE


def test_settings_change_thresholds_and_categories() -> None:
    strict = HandoffSettings(
        nlu_confidence_threshold=0.8,
        not_found_limit=3,
        kb_no_match_confidence=None,
        complaint_categories=frozenset(),
        urgent_categories=frozenset({"billing"}),
        urgent_urgencies=frozenset({"urgent", "high"}),
    )
    assert reason(TurnFacts(intent_confidence=0.7), strict) is ReasonCode.LOW_CONFIDENCE
    assert reason(TurnFacts(kb_decision="not_found", kb_confidence=0.0, consecutive_not_found=2), strict) is None
    assert reason(TurnFacts(kb_decision="not_found", consecutive_not_found=3), strict) is ReasonCode.REPEATED_NOT_FOUND
    assert reason(TurnFacts(category="service_complaint"), strict) is None
    assert reason(TurnFacts(category="billing"), strict) is ReasonCode.URGENT_CATEGORY
    assert reason(TurnFacts(urgency="high"), strict) is ReasonCode.URGENT_CATEGORY


def test_the_trigger_records_the_scores_behind_it_and_a_priority() -> None:
    trigger = policy.evaluate(
        TurnFacts(
            intent="ask_question",
            intent_confidence=0.55,
            kb_decision="not_found",
            kb_confidence=0.31,
            consecutive_not_found=2,
        )
    )
    assert trigger is not None
    assert trigger.scores == {"intent_confidence": 0.55, "kb_confidence": 0.31, "consecutive_not_found": 2.0}
    assert trigger.to_dict()["reason"] == "repeated_not_found"
    assert trigger.priority is Priority.NORMAL
    urgent = policy.evaluate(TurnFacts(urgency="urgent"))
    complaint = policy.evaluate(TurnFacts(category="service_complaint"))
    assert urgent is not None and urgent.priority is Priority.URGENT
    assert complaint is not None and complaint.priority is Priority.HIGH


def test_reason_codes_are_exactly_the_contracts() -> None:
    assert {r.value for r in ReasonCode} == {
        "customer_request",
        "kb_not_found",
        "low_confidence",
        "repeated_not_found",
        "unhelpful_answer",
        "form_stuck",
        "urgent_category",
        "complaint",
        "bot_error",
    }
