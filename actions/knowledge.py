"""`action_answer_from_kb` and `action_kb_feedback`: the knowledge base decides, the action words it.

Owns how answer / clarify / not_found reach the customer and how 'was this helpful?' is recorded. Must never guess:
an answer is only given when the KB decided `answer` (or the customer picked an entry from a clarify question),
and a miss is never papered over with a low-confidence answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answer_checks import read_payload
from actions.base import ServiceAction
from actions.context import (
    consecutive_not_found,
    customer_id_of,
    kb_results,
    language_of,
    latest_intent,
    latest_text,
    message_entities,
    nlu_of,
)
from actions.escalation import hand_over
from actions.feedback import FeedbackRecord
from actions.texts import say
from handoff.requests import HUMAN_REQUEST_PAYLOAD
from handoff.triggers import HandoffTrigger, ReasonCode, TurnFacts
from kb.decision import Candidate, Decision, KBResult

log = logging.getLogger(__name__)


def helpful_buttons(language: str) -> list[dict[str, str]]:
    return [
        {"title": say("btn_yes", language), "payload": '/kb_feedback{"helpful":"yes"}'},
        {"title": say("btn_no", language), "payload": '/kb_feedback{"helpful":"no"}'},
    ]


def human_button(language: str) -> dict[str, str]:
    return {"title": say("btn_human", language), "payload": HUMAN_REQUEST_PAYLOAD}


def kb_payload(result: KBResult, tracker: Tracker) -> dict[str, Any]:
    """The `{"kb": …}` payload, with what the message was classified as (`nlu`, for the service record's bot turn:
    Rasa's REST reply carries no intent otherwise)."""
    return {"kb": result.to_dict(), "nlu": nlu_of(tracker)}


def entry_payload(entry_id: str) -> str:
    """Asks for exactly this entry; the intent keeps the rule ask_question -> action_answer_from_kb."""
    return "/ask_question" + json.dumps({"kb_entry": entry_id}, separators=(",", ":"))


class ActionAnswerFromKB(ServiceAction, Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = language_of(tracker)
        entry_id = message_entities(tracker).get("kb_entry")
        if entry_id:
            chosen = self._chosen(tracker, str(entry_id))
            if chosen is None:
                dispatcher.utter_message(text=say("kb_choice_gone", language), buttons=[human_button(language)])
                return []
            self._answer(dispatcher, chosen, language, tracker)
            return []

        query = latest_text(tracker)
        if not query.strip() or read_payload(query) is not None:
            dispatcher.utter_message(text=say("kb_rephrase", language), buttons=[human_button(language)])
            return []
        try:
            result = await self.services.knowledge_base.search(query, language)
        except Exception:
            log.exception("knowledge base search failed")
            trigger = HandoffTrigger(ReasonCode.BOT_ERROR, details="knowledge base search failed")
            found = self.services.handoff_policy.evaluate(TurnFacts(bot_error=True))
            dispatcher.utter_message(text=say("handoff_error", language))
            return hand_over(dispatcher, found or trigger, tracker)

        if result.decision is Decision.ANSWER and result.best is not None:
            self._answer(dispatcher, result, language, tracker)
        elif result.decision is Decision.CLARIFY and result.candidates:
            shown = min(result.offered or len(result.candidates), self.services.settings.max_clarify_options)
            options = result.candidates[:shown]
            buttons = [{"title": c.question, "payload": entry_payload(c.entry_id)} for c in options]
            dispatcher.utter_message(text=say("kb_clarify", language), buttons=[*buttons, human_button(language)])
            dispatcher.utter_message(json_message=kb_payload(result, tracker))
        else:
            return self._not_found(dispatcher, tracker, result, language)
        return []

    def _answer(self, dispatcher: CollectingDispatcher, result: KBResult, language: str, tracker: Tracker) -> None:
        best = result.best
        assert best is not None
        dispatcher.utter_message(text=best.answer)
        dispatcher.utter_message(text=say("kb_helpful", language), buttons=helpful_buttons(language))
        dispatcher.utter_message(json_message=kb_payload(result, tracker))

    def _not_found(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, result: KBResult, language: str
    ) -> list[EventType]:
        intent, confidence = latest_intent(tracker)
        facts = TurnFacts(
            intent=intent,
            intent_confidence=confidence,
            kb_decision=Decision.NOT_FOUND.value,
            kb_confidence=result.confidence,
            consecutive_not_found=consecutive_not_found(tracker) + 1,
        )
        trigger = self.services.handoff_policy.evaluate(facts)
        dispatcher.utter_message(json_message=kb_payload(result, tracker))
        if trigger is None:
            dispatcher.utter_message(text=say("kb_rephrase", language), buttons=[human_button(language)])
            return []
        dispatcher.utter_message(text=say("handoff_connecting", language))
        return hand_over(dispatcher, trigger, tracker)

    @staticmethod
    def _chosen(tracker: Tracker, entry_id: str) -> KBResult | None:
        """The entry the customer picked from our last clarify question, as an answer with its own score."""
        for earlier in kb_results(tracker):
            for candidate in earlier.candidates:
                if candidate.entry_id == entry_id:
                    return KBResult(
                        query=earlier.query,
                        language=earlier.language,
                        decision=Decision.ANSWER,
                        confidence=candidate.confidence,
                        candidates=[candidate],
                        explanation=f"chosen by the customer from a clarify question ({earlier.decision.value})",
                    )
        return None


def _as_bool(value: object) -> bool | None:
    text = str(value).strip().lower()
    if text in {"yes", "y", "true", "1", "有帮助", "是", "有用"}:
        return True
    if text in {"no", "n", "false", "0", "没有帮助", "没帮助", "否", "没用"}:
        return False
    return None


class ActionKBFeedback(ServiceAction, Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    def name(self) -> str:
        return "action_kb_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = language_of(tracker)
        raw = message_entities(tracker).get("helpful", tracker.get_slot("helpful"))
        helpful = _as_bool(raw) if raw is not None else None
        if helpful is None:
            dispatcher.utter_message(text=say("kb_helpful", language), buttons=helpful_buttons(language))
            return [SlotSet("helpful", None)]
        answered = next((r for r in kb_results(tracker) if r.decision is Decision.ANSWER), None)
        best: Candidate | None = answered.best if answered else None
        try:
            await self.services.feedback.record(
                FeedbackRecord(
                    conversation_id=tracker.sender_id,
                    customer_id=customer_id_of(tracker),
                    entry_id=best.entry_id if best else "",
                    query=answered.query if answered else "",
                    language=language,
                    helpful=helpful,
                    confidence=answered.confidence if answered else None,
                    at=self.services.clock(),
                )
            )
        except Exception:
            # Losing one feedback row must not spoil the conversation.
            log.exception("recording KB feedback failed")
        if helpful:
            dispatcher.utter_message(text=say("feedback_thanks", language))
            return [SlotSet("helpful", None)]
        facts = TurnFacts(
            helpful=False,
            kb_decision=answered.decision.value if answered else None,
            kb_confidence=answered.confidence if answered else None,
        )
        trigger = self.services.handoff_policy.evaluate(facts)
        if trigger is None:
            dispatcher.utter_message(text=say("feedback_sorry", language), buttons=[human_button(language)])
            return [SlotSet("helpful", None)]
        dispatcher.utter_message(text=say("handoff_connecting", language))
        extra = {"kb_entry": best.entry_id, "kb_query": answered.query} if best and answered else None
        return [SlotSet("helpful", None), *hand_over(dispatcher, trigger, tracker, extra_fields=extra)]
