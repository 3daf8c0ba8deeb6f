"""The `{"handoff": …}` payload and the action that asks for a human.

Owns the payload's shape (see docs: reason, scores, category, priority, ticket, fields) and `ActionHandoff`. Must
never queue anything: the front door's pipeline reads the payload and calls handoff.HandoffService.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction
from actions.context import collected_fields, language_of, latest_intent
from actions.texts import say
from handoff.triggers import HandoffTrigger, ReasonCode, TurnFacts


def handoff_payload(
    trigger: HandoffTrigger,
    tracker: Tracker,
    *,
    ticket: str | None = None,
    priority: str | None = None,
    extra_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    fields = collected_fields(tracker)
    if extra_fields:
        fields.update(extra_fields)
    payload: dict[str, Any] = {
        "reason": str(trigger.reason),
        "scores": dict(trigger.scores),
        "category": tracker.get_slot("category"),
        "priority": priority or str(trigger.priority),
        "fields": fields,
        "details": trigger.details,
        "language": language_of(tracker),
    }
    if ticket:
        payload["ticket"] = ticket
    return {"handoff": payload}


def stop_form(tracker: Tracker) -> list[EventType]:
    """Leaving an active form: the customer is going to a person, the form must not ask again afterwards."""
    if tracker.active_loop.get("name"):
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
    return []


class ActionHandoff(ServiceAction, Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    """The customer asked for a person: always honoured (reason customer_request), with what the bot knows."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent, confidence = latest_intent(tracker)
        facts = TurnFacts(
            intent=intent,
            intent_confidence=confidence,
            asked_for_human=True,
            category=str(tracker.get_slot("category") or ""),
            urgency=str(tracker.get_slot("urgency") or ""),
            form_stuck=bool(tracker.get_slot("form_stuck")),
        )
        trigger = self.services.handoff_policy.evaluate(facts) or HandoffTrigger(ReasonCode.CUSTOMER_REQUEST)
        if trigger.reason is not ReasonCode.CUSTOMER_REQUEST:
            # The customer's words decide why: a policy that ranks something else first must not relabel them.
            trigger = HandoffTrigger(ReasonCode.CUSTOMER_REQUEST, trigger.scores, trigger.details, trigger.priority)
        dispatcher.utter_message(text=say("handoff_connecting", language_of(tracker)))
        dispatcher.utter_message(json_message=handoff_payload(trigger, tracker))
        return stop_form(tracker)
