"""When the bot should hand a conversation to a human: one pure, configurable policy.

Rasa actions call `HandoffPolicy(settings).evaluate(facts)` in-process after each turn. Owns the reason codes and
their precedence; must never do I/O, read the environment or queue anything (the caller passes the trigger on to
`HandoffService.request_handoff`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from intake.models import Priority


class ReasonCode(StrEnum):
    CUSTOMER_REQUEST = "customer_request"
    KB_NOT_FOUND = "kb_not_found"
    LOW_CONFIDENCE = "low_confidence"
    REPEATED_NOT_FOUND = "repeated_not_found"
    UNHELPFUL_ANSWER = "unhelpful_answer"
    FORM_STUCK = "form_stuck"
    URGENT_CATEGORY = "urgent_category"
    COMPLAINT = "complaint"
    BOT_ERROR = "bot_error"


@dataclass(frozen=True)
class TurnFacts:
    """What happened in one bot turn. Every field is optional so callers fill what they know.

    `consecutive_not_found` counts this turn when its KB decision was not_found. `kb_decision` is the value of
    kb.decision.Decision ("answer", "clarify", "not_found"); a plain string keeps handoff free of the KB package.
    """

    intent: str = ""
    intent_confidence: float | None = None
    asked_for_human: bool = False
    kb_decision: str | None = None
    kb_confidence: float | None = None
    consecutive_not_found: int = 0
    helpful: bool | None = None  # False = the customer said the last answer did not help
    form_stuck: bool = False
    category: str = ""
    urgency: str = ""
    bot_error: bool = False
    timeout: bool = False


@dataclass(frozen=True)
class HandoffSettings:
    """Thresholds of the policy; built once from configuration and passed in."""

    nlu_confidence_threshold: float = 0.4
    not_found_limit: int = 2  # consecutive KB misses before repeated_not_found
    # A miss this far below anything in the KB means rephrasing cannot help: hand off at once (kb_not_found).
    # None turns the immediate hand-off off, leaving only repeated_not_found.
    kb_no_match_confidence: float | None = 0.2
    complaint_categories: frozenset[str] = frozenset({"service_complaint"})
    urgent_categories: frozenset[str] = frozenset()
    urgent_urgencies: frozenset[str] = frozenset({"urgent"})
    human_request_intents: frozenset[str] = frozenset({"request_human"})
    priorities: Mapping[str, Priority] = field(
        default_factory=lambda: {
            ReasonCode.URGENT_CATEGORY.value: Priority.URGENT,
            ReasonCode.COMPLAINT.value: Priority.HIGH,
            ReasonCode.BOT_ERROR.value: Priority.HIGH,
        }
    )


@dataclass(frozen=True)
class HandoffTrigger:
    """Why the bot hands off, with the scores behind the decision (shown on the agent's case card)."""

    reason: ReasonCode
    scores: Mapping[str, float] = field(default_factory=dict)
    details: str = ""
    priority: Priority = Priority.NORMAL

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason.value,
            "scores": dict(self.scores),
            "details": self.details,
            "priority": self.priority.value,
        }


_NOT_FOUND = "not_found"
_ANSWER = "answer"


class HandoffPolicy:
    """Checks run in precedence order; the first that fires wins.

    The customer's own request and bot failures come first (they are never wrong to honour), then what the case
    is (urgent, complaint), then how the conversation is going (stuck form, unhelpful answer, KB misses), and NLU
    doubt last: a low-confidence intent is only a reason when the KB could not answer either.
    """

    def __init__(self, settings: HandoffSettings | None = None) -> None:
        self.settings = settings or HandoffSettings()

    def evaluate(self, facts: TurnFacts) -> HandoffTrigger | None:
        s = self.settings
        scores = _scores(facts)
        if facts.asked_for_human or (facts.intent and facts.intent in s.human_request_intents):
            return self._trigger(ReasonCode.CUSTOMER_REQUEST, scores, "the customer asked for a person")
        if facts.bot_error or facts.timeout:
            what = "timed out" if facts.timeout and not facts.bot_error else "failed"
            return self._trigger(ReasonCode.BOT_ERROR, scores, f"the bot {what}")
        if facts.urgency in s.urgent_urgencies or facts.category in s.urgent_categories:
            return self._trigger(
                ReasonCode.URGENT_CATEGORY, scores, f"category={facts.category or '-'} urgency={facts.urgency or '-'}"
            )
        if facts.category in s.complaint_categories:
            return self._trigger(ReasonCode.COMPLAINT, scores, f"category={facts.category}")
        if facts.form_stuck:
            return self._trigger(ReasonCode.FORM_STUCK, scores, "a form slot failed validation repeatedly")
        if facts.helpful is False:
            return self._trigger(ReasonCode.UNHELPFUL_ANSWER, scores, "the customer said the answer did not help")
        if facts.kb_decision == _NOT_FOUND:
            if facts.consecutive_not_found >= s.not_found_limit:
                return self._trigger(
                    ReasonCode.REPEATED_NOT_FOUND, scores, f"{facts.consecutive_not_found} KB misses in a row"
                )
            if (
                s.kb_no_match_confidence is not None
                and facts.kb_confidence is not None
                and facts.kb_confidence < s.kb_no_match_confidence
            ):
                return self._trigger(ReasonCode.KB_NOT_FOUND, scores, f"KB confidence below {s.kb_no_match_confidence}")
        if (
            facts.intent_confidence is not None
            and facts.intent_confidence < s.nlu_confidence_threshold
            and facts.kb_decision != _ANSWER
        ):
            return self._trigger(
                ReasonCode.LOW_CONFIDENCE, scores, f"intent confidence below {s.nlu_confidence_threshold}"
            )
        return None

    def _trigger(self, reason: ReasonCode, scores: Mapping[str, float], details: str) -> HandoffTrigger:
        priority = self.settings.priorities.get(reason.value, Priority.NORMAL)
        return HandoffTrigger(reason=reason, scores=scores, details=details, priority=priority)


def _scores(facts: TurnFacts) -> dict[str, float]:
    scores: dict[str, float] = {}
    if facts.intent_confidence is not None:
        scores["intent_confidence"] = float(facts.intent_confidence)
    if facts.kb_confidence is not None:
        scores["kb_confidence"] = float(facts.kb_confidence)
    if facts.consecutive_not_found:
        scores["consecutive_not_found"] = float(facts.consecutive_not_found)
    return scores
