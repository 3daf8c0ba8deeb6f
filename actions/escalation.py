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
from actions.context import FORM_SLOTS, collected_fields, language_of, latest_intent
from actions.intake_form import form_reset
from actions.texts import say
from handoff.triggers import HandoffTrigger, ReasonCode, TurnFacts


def handoff_payload(
    trigger: HandoffTrigger,
    tracker: Tracker,
    *,
    ticket: str | None = None,
    priority: str | None = None,
    extra_fields: dict[str, Any] | None = None,
    first_response_due: float | None = None,
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
        # What the message was classified as, for the front door's service record (its confidence is in scores).
        "intent": latest_intent(tracker)[0] or None,
    }
    if ticket:
        payload["ticket"] = ticket
        if first_response_due is not None:
            # The ticket's promise: the chat's console countdown runs to the same instant (epoch s).
            payload["first_response_due"] = first_response_due
    return {"handoff": payload}


def hand_over(
    dispatcher: CollectingDispatcher, trigger: HandoffTrigger, tracker: Tracker, **payload: Any
) -> list[EventType]:
    """Sends the `{"handoff": …}` payload and returns the events that end a report in progress.

    What the form collected travels to the agent as `fields`; left in the slots, it would be questions that the
    customer's next report, after the agent hands back, silently skips. The contact stays: it still reaches them.
    """
    dispatcher.utter_message(json_message=handoff_payload(trigger, tracker, **payload))
    events: list[EventType] = []
    if tracker.active_loop.get("name"):
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
    if any(tracker.get_slot(slot) not in (None, "") for slot in FORM_SLOTS if slot != "contact"):
        events += form_reset(keep_contact=True)
    return events


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
        return hand_over(dispatcher, trigger, tracker)
