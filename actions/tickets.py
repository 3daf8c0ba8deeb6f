"""`action_create_ticket` and `action_check_ticket`: turning the finished issue form into a ticket, and telling a
customer where their own tickets stand.

Owns the ticket messages and the hand-off after creation (stuck form, urgent or complaint). Must never show a
ticket to anyone but its customer: every read passes the customer id from the front door's metadata.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import ServiceAction
from actions.context import (
    customer_id_of,
    language_of,
    latest_text,
    message_entities,
    ticket_number_in,
)
from actions.escalation import hand_over, handoff_payload
from actions.intake_form import form_reset
from actions.texts import duration, name_of, say
from conversations.models import Customer
from handoff.routing import RoutingSettings, group_for
from handoff.triggers import HandoffTrigger, ReasonCode, TurnFacts
from intake.models import OPEN_STATUSES, Category, Ticket, TicketDraft, Urgency

log = logging.getLogger(__name__)


_E = TypeVar("_E", Category, Urgency)


def _enum_or_none(kind: type[_E], value: object) -> _E | None:
    try:
        return kind(str(value)) if value else None
    except ValueError:
        return None


def _when(epoch: float, timezone: str) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def ticket_card(ticket: Ticket, *, reasons: tuple[str, ...] = (), form_stuck: bool = False) -> dict[str, object]:
    """The `{"ticket": …}` payload for the case card."""
    data = ticket.to_dict()
    data["priority_reasons"] = list(reasons)
    data["form_stuck"] = form_stuck
    return {"ticket": data}


class ActionCreateTicket(ServiceAction, Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    def name(self) -> str:
        return "action_create_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        s = self.services
        language = language_of(tracker)
        category = _enum_or_none(Category, tracker.get_slot("category"))
        urgency = _enum_or_none(Urgency, tracker.get_slot("urgency"))
        stuck = bool(tracker.get_slot("form_stuck"))
        description = str(tracker.get_slot("description") or "") or None
        # The record the customer lives on now: a proof in this very form may have merged theirs into another.
        customer = await self._customer(customer_id_of(tracker))
        customer_id = customer.id if customer is not None else customer_id_of(tracker)
        tier = (customer.tier if customer is not None else "") or "standard"
        decision = s.priority_policy.decide(category, urgency, tier, description or "")
        draft = TicketDraft(
            customer_id=customer_id,
            conversation_id=tracker.sender_id,
            order_number=tracker.get_slot("order_number"),
            product=tracker.get_slot("product"),
            category=category,
            description=description,
            urgency=urgency,
            contact=tracker.get_slot("contact"),
            language=language,
            extra={"form_stuck": stuck, "priority_reasons": list(decision.reasons), "tier": tier},
        )
        try:
            ticket = await s.tickets.create(
                draft,
                priority=decision.priority,
                skill_group=group_for(category.value if category else "", RoutingSettings()),
                channel=await self._channel(tracker.sender_id),
            )
        except Exception:
            log.exception("creating a ticket failed")
            failed = s.handoff_policy.evaluate(TurnFacts(bot_error=True)) or HandoffTrigger(ReasonCode.BOT_ERROR)
            dispatcher.utter_message(text=say("ticket_failed", language))
            dispatcher.utter_message(json_message=handoff_payload(failed, tracker, priority=decision.priority.value))
            return form_reset(keep_contact=True)

        # The owning team's targets (a team may answer faster than the default): the promise is the ticket's own.
        target = (await s.tickets.policy_for(ticket.team_id)).targets[ticket.priority]
        dispatcher.utter_message(
            text=say(
                "ticket_created",
                language,
                number=ticket.number,
                within=duration(target.first_response_hours, language),
                due=_when(ticket.first_response_due, s.settings.timezone),
            )
        )
        dispatcher.utter_message(json_message=ticket_card(ticket, reasons=decision.reasons, form_stuck=stuck))

        trigger: HandoffTrigger | None = s.handoff_policy.evaluate(
            TurnFacts(
                form_stuck=stuck,
                category=category.value if category else "",
                urgency=urgency.value if urgency else "",
            )
        )
        if trigger is None:
            # Priority can reach urgent without an urgent answer (keywords, a configured floor): ask intake's rule.
            reason = s.priority_policy.is_handoff_worthy(category, decision.priority)
            if reason is not None:
                trigger = HandoffTrigger(ReasonCode(reason), details=f"ticket priority {decision.priority.value}")
        if trigger is not None:
            dispatcher.utter_message(text=say("ticket_created_handoff", language))
            dispatcher.utter_message(
                json_message=handoff_payload(
                    trigger,
                    tracker,
                    ticket=ticket.number,
                    priority=decision.priority.value,
                    first_response_due=ticket.first_response_due,
                )
            )
        return form_reset(keep_contact=True)

    async def _channel(self, conversation_id: str) -> str:
        customers = self.services.customers
        if customers is None:
            return ""
        try:
            return (await customers.get_conversation(conversation_id)).channel
        except Exception:
            return ""

    async def _customer(self, customer_id: str) -> Customer | None:
        customers = self.services.customers
        if customers is None:
            return None
        try:
            return await customers.get_customer(customer_id)
        except Exception:
            return None


class ActionCheckTicket(ServiceAction, Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    def name(self) -> str:
        return "action_check_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        s = self.services
        language = language_of(tracker)
        customer_id = customer_id_of(tracker)
        prefix, digits = s.settings.intake.ticket_prefix, s.settings.intake.ticket_digits
        # This message's words first: a ticket_number slot left from earlier must not answer a new question.
        raw = message_entities(tracker).get("ticket_number") or latest_text(tracker)
        number = ticket_number_in(str(raw), prefix, digits)
        if number is None and tracker.get_slot("ticket_number"):
            number = ticket_number_in(str(tracker.get_slot("ticket_number")), prefix, digits)
        try:
            if number:
                ticket = await s.tickets.get(number, customer_id=customer_id)
                if ticket is None:
                    dispatcher.utter_message(text=say("ticket_not_found", language, number=number))
                else:
                    dispatcher.utter_message(text=self._status_line(ticket, language))
                return [SlotSet("ticket_number", None)]
            tickets = await s.tickets.list_for_customer(
                customer_id, statuses=OPEN_STATUSES, limit=s.settings.open_tickets_shown
            )
        except Exception:
            log.exception("reading tickets failed")
            trigger = s.handoff_policy.evaluate(TurnFacts(bot_error=True)) or HandoffTrigger(ReasonCode.BOT_ERROR)
            dispatcher.utter_message(text=say("handoff_error", language))
            return [SlotSet("ticket_number", None), *hand_over(dispatcher, trigger, tracker)]
        if not tickets:
            dispatcher.utter_message(text=say("tickets_none_open", language))
        else:
            lines = [say("tickets_open_header", language), *(self._status_line(t, language) for t in tickets)]
            dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet("ticket_number", None)]

    def _status_line(self, ticket: Ticket, language: str) -> str:
        about_parts = [
            p for p in (ticket.product, name_of(ticket.category.value, language) if ticket.category else "") if p
        ]
        about = f" ({', '.join(about_parts)})" if language != "zh" else (f"（{'，'.join(about_parts)}）")
        return say(
            "ticket_status",
            language,
            number=ticket.number,
            about=about if about_parts else "",
            status=name_of(ticket.status.value, language),
            priority=name_of(ticket.priority.value, language),
            updated=_when(ticket.updated_at, self.services.settings.timezone),
        )
