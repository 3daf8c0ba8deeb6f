"""The issue form: `validate_issue_form` (one FormValidationAction, a validate_<slot> per slot), the two
custom questions `action_ask_category` / `action_ask_urgency` that offer suggested values as buttons, and
`action_reset_issue_form`, which forgets a cancelled report.

Owns what counts as a good answer for each slot, the re-prompts, pre-filling (from the report_issue message, and
from what the customer record knows: a contact given once is saved to the record and never asked again) and the
give-up rule: a slot may be re-asked `max_slot_reasks` times; the next bad answer sets `form_stuck`, after which
`required_slots` is empty and the form submits with what it has. Must never drop a value already collected: a bad
answer only ever clears the slot being asked.

Orders: a number the order system does not know is re-asked; one it cannot check (down, slow, garbage) is accepted
and the customer told so. An order that names its owner shows its details (the product) only to a customer who holds
one of the owner's keys; giving its number and the phone or email on it is the proof that links those keys to the
customer's record (`CustomerLinks.link_proven`), merging the record into the one that already held them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answer_checks import Problem, check_text, find_contact, read_payload
from actions.base import ServiceAction
from actions.context import (
    FORM_SLOTS,
    language_of,
    latest_intent,
    latest_text,
    metadata_value,
    report_message,
    value_before_this_turn,
)
from actions.texts import button_title, name_of, say
from conversations.identity import IdentityKey, contact_key
from intake.classification import CategorySuggestion, UrgencySuggestion
from intake.exceptions import OrderLookupFailed
from intake.models import Category, Urgency
from intake.orders import Order

log = logging.getLogger(__name__)

FORM_NAME = "issue_form"
# The order we ask in: the description comes before the category so the suggestion can use the customer's words.
ASK_ORDER = ("order_number", "product", "description", "category", "urgency", "contact")
# Intents that interrupt the form (rules handle them); an answer carrying one of them is not a bad answer.
FORM_INTERRUPTION_INTENTS = frozenset(
    {"ask_question", "cancel", "request_human", "check_ticket", "kb_feedback", "greet", "goodbye", "out_of_scope"}
)
AFFIRM_WORDS = frozenset(
    {
        "yes",
        "y",
        "yeah",
        "yep",
        "correct",
        "right",
        "ok",
        "okay",
        "sure",
        "是",
        "是的",
        "对",
        "对的",
        "没错",
        "正确",
        "好",
        "好的",
        "嗯",
    }
)
DENY_WORDS = frozenset({"no", "n", "nope", "wrong", "not really", "不", "不是", "不对", "错", "否"})

CATEGORY_WORDS: dict[str, Category] = {
    **{c.value: c for c in Category},
    "product fault": Category.PRODUCT_FAULT,
    "fault": Category.PRODUCT_FAULT,
    "defect": Category.PRODUCT_FAULT,
    "产品故障": Category.PRODUCT_FAULT,
    "故障": Category.PRODUCT_FAULT,
    "质量问题": Category.PRODUCT_FAULT,
    "物流": Category.DELIVERY,
    "物流配送": Category.DELIVERY,
    "配送": Category.DELIVERY,
    "快递": Category.DELIVERY,
    "refund": Category.REFUND_RETURN,
    "return": Category.REFUND_RETURN,
    "refund / return": Category.REFUND_RETURN,
    "退货退款": Category.REFUND_RETURN,
    "退款": Category.REFUND_RETURN,
    "退货": Category.REFUND_RETURN,
    "payment": Category.BILLING,
    "billing / payment": Category.BILLING,
    "账单": Category.BILLING,
    "账单支付": Category.BILLING,
    "支付": Category.BILLING,
    "扣款": Category.BILLING,
    "complaint": Category.SERVICE_COMPLAINT,
    "service complaint": Category.SERVICE_COMPLAINT,
    "服务投诉": Category.SERVICE_COMPLAINT,
    "投诉": Category.SERVICE_COMPLAINT,
    "idea": Category.SUGGESTION,
    "意见建议": Category.SUGGESTION,
    "建议": Category.SUGGESTION,
}
URGENCY_WORDS: dict[str, Urgency] = {
    **{u.value: u for u in Urgency},
    "very urgent": Urgency.URGENT,
    "emergency": Urgency.URGENT,
    "urgent (safety risk)": Urgency.URGENT,
    "非常紧急": Urgency.URGENT,
    "紧急": Urgency.URGENT,
    "很急": Urgency.URGENT,
    "fairly urgent": Urgency.HIGH,
    "quite urgent": Urgency.HIGH,
    "important": Urgency.HIGH,
    "较急": Urgency.HIGH,
    "比较急": Urgency.HIGH,
    "高": Urgency.HIGH,
    "急": Urgency.HIGH,
    "not urgent": Urgency.NORMAL,
    "low": Urgency.NORMAL,
    "medium": Urgency.NORMAL,
    "一般": Urgency.NORMAL,
    "普通": Urgency.NORMAL,
    "不急": Urgency.NORMAL,
    "不紧急": Urgency.NORMAL,
}


def form_reset(*, keep_contact: bool) -> list[EventType]:
    """Events that make the next report start from scratch: every form slot, the retry counts and `form_stuck`.

    A slot left set is a question the next report skips, so whatever ends a report (a ticket, a cancel) clears
    them. `keep_contact` only after a ticket: that contact is on the ticket and still how to reach the customer.
    """
    slots = [s for s in FORM_SLOTS if not (keep_contact and s == "contact")]
    return [
        *(SlotSet(slot, None) for slot in slots),
        SlotSet("form_stuck", False),
        SlotSet("form_retries", None),
        SlotSet("requested_slot", None),
    ]


def _words_of(tracker: Tracker) -> str:
    """What the customer has told us about the problem so far: the description and the report message."""
    parts = [str(tracker.get_slot("description") or "")]
    report = report_message(tracker)
    if report and report.get("text") and str(report["text"]) not in parts[0]:
        parts.append(str(report["text"]))
    return " ".join(p for p in parts if p)


def _normalise_choice(text: str) -> str:
    return text.strip().strip("。.!！").lower()


def _category_buttons(order: Sequence[Category], language: str) -> list[dict[str, str]]:
    return [{"title": button_title(c.value, language), "payload": f'/inform{{"category":"{c.value}"}}'} for c in order]


def _urgency_order(suggested: Urgency) -> list[Urgency]:
    """The buttons' order: the suggestion first. Typed digits ('1') refer to this order."""
    return [suggested, *(u for u in Urgency if u is not suggested)]


def _urgency_buttons(order: Sequence[Urgency], language: str) -> list[dict[str, str]]:
    return [{"title": button_title(u.value, language), "payload": f'/inform{{"urgency":"{u.value}"}}'} for u in order]


class ValidateIssueForm(ServiceAction, FormValidationAction):  # type: ignore[misc]  # rasa-sdk ships no type hints
    def name(self) -> str:
        return f"validate_{FORM_NAME}"

    # -- which slots, in which order ------------------------------------------------------------------------------

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("form_stuck"):
            return []
        ordered = [s for s in ASK_ORDER if s in domain_slots]
        return ordered + [s for s in domain_slots if s not in ordered]

    # -- shared failure handling ----------------------------------------------------------------------------------

    def _reject(
        self,
        slot: str,
        problem: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        **values: object,
    ) -> dict[str, Any]:
        """A bad answer: re-prompt and count it, or give up on the form after too many."""
        if tracker.get_slot("requested_slot") != slot:
            # The value arrived unasked (an entity in another answer): keep what we had, say nothing.
            return {slot: value_before_this_turn(tracker, slot)}
        language = language_of(tracker)
        retries = dict(tracker.get_slot("form_retries") or {})
        retries[slot] = int(retries.get(slot, 0)) + 1
        result: dict[str, Any] = {slot: None, "form_retries": retries}
        if retries[slot] > self.services.settings.intake.max_slot_reasks:
            dispatcher.utter_message(text=say("form_stuck", language))
            result["form_stuck"] = True
        else:
            dispatcher.utter_message(text=say(problem, language, **values))
        return result

    def _is_interruption(self, tracker: Tracker, value: object) -> bool:
        intent, _ = latest_intent(tracker)
        return intent in FORM_INTERRUPTION_INTENTS and str(value) == latest_text(tracker)

    def _text_problem(self, text: str, *, max_chars: int, min_words: int = 1) -> tuple[str, dict[str, object]] | None:
        problem = check_text(text, max_chars=max_chars, min_words=min_words)
        if problem is None:
            return None
        return problem.value, ({"limit": max_chars} if problem is Problem.TOO_LONG else {})

    # -- pre-filling ----------------------------------------------------------------------------------------------

    async def extract_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("description") or tracker.get_slot("requested_slot") == "description":
            return {}
        if "description" in (tracker.get_slot("form_retries") or {}):
            return {}
        report = report_message(tracker)
        text = str(report.get("text") or "") if report else ""
        if not text or read_payload(text) is not None:
            return {}
        settings = self.services.settings.intake
        if check_text(text, max_chars=settings.max_description_chars, min_words=3) is not None:
            return {}
        # "I want to report a problem" says nothing yet; a message with a category cue does.
        if self.services.classifier.suggest_category(text) is None:
            return {}
        return {"description": text.strip()}

    async def extract_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("product") or tracker.get_slot("requested_slot") == "product":
            return {}
        report = report_message(tracker)
        if not report:
            return {}
        for entity in (report.get("parse_data") or {}).get("entities") or []:
            if entity.get("entity") == "product" and entity.get("value"):
                return {"product": str(entity["value"])}
        return {}

    async def extract_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The channel identity may already tell us how to reach the customer: then we never ask."""
        if tracker.get_slot("contact") or tracker.get_slot("requested_slot") == "contact":
            return {}
        for key in ("contact", "email", "phone"):
            value = metadata_value(tracker, key)
            if value and find_contact(str(value)):
                return {"contact": find_contact(str(value))}
        customers = self.services.customers
        customer_id = metadata_value(tracker, "customer_id")
        if customers is not None and customer_id:
            try:
                customer = await customers.get_customer(str(customer_id))
            except Exception:
                return {}
            for value in (customer.email, customer.phone):
                if value and find_contact(value):
                    return {"contact": find_contact(value)}
        return {}

    # -- the customer record ----------------------------------------------------------------------------------------

    async def _known_keys(self, tracker: Tracker) -> set[IdentityKey]:
        """What identifies this customer: their record's keys, and the contact this form holds."""
        keys: set[IdentityKey] = set()
        records, customer_id = self.services.records, metadata_value(tracker, "customer_id")
        if records is not None and customer_id:
            try:
                keys = set(await records.keys_of(str(customer_id)))
            except Exception:
                log.warning("reading customer %s's identities failed", customer_id, exc_info=True)
        contact = contact_key(str(tracker.get_slot("contact") or ""))
        if contact is not None:
            keys.add(contact)
        return keys

    async def _prove(
        self, order: Order, contact: IdentityKey | None, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> bool:
        """When `contact` is the phone or email on `order`, the customer has proven that it is theirs: its keys are
        linked to their record. True when proven (even if linking failed: the proof itself stands)."""
        keys = order.proven_by(contact)
        if not keys or contact is None:
            return False
        records, customer_id = self.services.records, metadata_value(tracker, "customer_id")
        if records is None or not customer_id:
            return True
        try:
            outcome = await records.link_proven(
                str(customer_id), keys, detail={"order_number": order.number, "contact": contact.masked()}
            )
        except Exception:
            log.exception("linking order %s's identities failed", order.number)
            return True
        if outcome.linked or outcome.merges:
            dispatcher.utter_message(text=say("order_proven", language_of(tracker), number=order.number))
        return True

    async def _save_contact(self, tracker: Tracker, contact: str) -> None:
        """The contact the customer gave goes on their record, so the next form does not ask for it."""
        key, records, customer_id = contact_key(contact), self.services.records, metadata_value(tracker, "customer_id")
        if key is None or records is None or not customer_id:
            return
        try:
            await records.save_contact(str(customer_id), key)
        except Exception:
            log.warning("saving customer %s's contact failed", customer_id, exc_info=True)

    # -- validate_<slot> ------------------------------------------------------------------------------------------

    async def _lookup(self, number: str) -> tuple[Order | None, bool]:
        """(order, checked): an order system that is down must not block the customer, and without one (no
        FD_INTAKE_ORDER_API_URL) a well-formed number is taken as given."""
        if self.services.orders is None:
            return None, False
        try:
            return await self.services.orders.lookup(number), True
        except OrderLookupFailed:
            log.warning("order lookup failed for %s; accepting the number unverified", number)
            return None, False

    async def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None or self._is_interruption(tracker, value):
            return {"order_number": None}
        text = str(value)
        settings = self.services.settings.intake
        issue = self._text_problem(text, max_chars=settings.max_short_answer_chars)
        if issue and issue[0] in (Problem.MARKUP, Problem.TOO_LONG, Problem.OTHER_LANGUAGE):
            return self._reject("order_number", issue[0], dispatcher, tracker, **issue[1])
        number = self.services.order_format.find(text)
        if number is None and self.services.order_format.is_valid(text):
            number = self.services.order_format.normalise(text)
        if number is None:
            return self._reject("order_number", "bad_order_format", dispatcher, tracker)
        order, checked = await self._lookup(number)
        if checked and order is None:
            return self._reject("order_number", "order_not_found", dispatcher, tracker, number=number)
        if not checked and self.services.orders is not None:
            dispatcher.utter_message(text=say("order_unchecked", language_of(tracker), number=number))
        result: dict[str, Any] = {"order_number": number}
        if order is None:
            return result
        contact = contact_key(str(tracker.get_slot("contact") or ""))
        owned = await self._prove(order, contact, dispatcher, tracker) or order.owned_by(
            await self._known_keys(tracker)
        )
        if not tracker.get_slot("product"):
            # A product the customer's own words name reveals nothing; the order's only item only to its owner.
            product = order.find_product(_words_of(tracker))
            if product is None and owned and len(order.items) == 1:
                product = order.items[0].product
            if product is not None:
                result["product"] = product.display_name(language_of(tracker))
        return result

    async def validate_product(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None or self._is_interruption(tracker, value):
            return {"product": None}
        text = str(value).strip()
        issue = self._text_problem(text, max_chars=self.services.settings.intake.max_short_answer_chars)
        if issue:
            return self._reject("product", issue[0], dispatcher, tracker, **issue[1])
        number = tracker.get_slot("order_number")
        if number:
            order, _ = await self._lookup(str(number))
            product = order.find_product(text) if order else None
            if product is not None:
                return {"product": product.display_name(language_of(tracker))}
        return {"product": text}

    async def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None or self._is_interruption(tracker, value):
            return {"description": None}
        text = str(value).strip()
        issue = self._text_problem(text, max_chars=self.services.settings.intake.max_description_chars, min_words=2)
        if issue:
            return self._reject("description", issue[0], dispatcher, tracker, **issue[1])
        return {"description": text}

    async def validate_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None or self._is_interruption(tracker, value):
            return {"category": None}
        text = str(value)
        payload = read_payload(text)
        if payload and "category" in payload[1]:
            text = str(payload[1]["category"])
        choice = _normalise_choice(text)
        if choice in CATEGORY_WORDS:
            return {"category": CATEGORY_WORDS[choice].value}
        intent, _ = latest_intent(tracker)
        suggestion = self.services.classifier.suggest_category(_words_of(tracker))
        if (choice in AFFIRM_WORDS or intent == "affirm") and suggestion is not None:
            return {"category": suggestion.category.value}
        if choice.isdigit():
            order = [suggestion.category, *suggestion.alternatives] if suggestion else list(Category)
            if 1 <= int(choice) <= len(order):
                return {"category": order[int(choice) - 1].value}
        if choice in DENY_WORDS or intent == "deny":
            return {"category": None}  # not a bad answer: the alternatives are asked for next
        issue = self._text_problem(text, max_chars=self.services.settings.intake.max_short_answer_chars)
        if issue:
            return self._reject("category", issue[0], dispatcher, tracker, **issue[1])
        from_words = self.services.classifier.suggest_category(text)
        if from_words is not None:
            return {"category": from_words.category.value}
        return self._reject("category", "bad_category", dispatcher, tracker)

    async def validate_urgency(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None or self._is_interruption(tracker, value):
            return {"urgency": None}
        text = str(value)
        payload = read_payload(text)
        if payload and "urgency" in payload[1]:
            text = str(payload[1]["urgency"])
        choice = _normalise_choice(text)
        if choice in URGENCY_WORDS:
            return {"urgency": URGENCY_WORDS[choice].value}
        intent, _ = latest_intent(tracker)
        suggested = self.services.classifier.suggest_urgency(_words_of(tracker)).urgency
        if choice in AFFIRM_WORDS or intent == "affirm":
            return {"urgency": suggested.value}
        if choice.isdigit() and 1 <= int(choice) <= len(Urgency):
            return {"urgency": _urgency_order(suggested)[int(choice) - 1].value}
        if choice in DENY_WORDS or intent == "deny":
            return {"urgency": None}
        issue = self._text_problem(text, max_chars=self.services.settings.intake.max_short_answer_chars)
        if issue:
            return self._reject("urgency", issue[0], dispatcher, tracker, **issue[1])
        cues = self.services.classifier.suggest_urgency(text)
        if cues.cues:
            return {"urgency": cues.urgency.value}
        return self._reject("urgency", "bad_urgency", dispatcher, tracker)

    async def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None or self._is_interruption(tracker, value):
            return {"contact": None}
        text = str(value)
        issue = self._text_problem(text, max_chars=self.services.settings.intake.max_short_answer_chars)
        if issue and issue[0] in (Problem.MARKUP, Problem.TOO_LONG):
            return self._reject("contact", issue[0], dispatcher, tracker, **issue[1])
        contact = find_contact(text)
        if contact is None:
            return self._reject("contact", "bad_contact", dispatcher, tracker)
        await self._save_contact(tracker, contact)
        number = tracker.get_slot("order_number")
        if number and self.services.orders is not None:
            order, _ = await self._lookup(str(number))
            if order is not None:
                await self._prove(order, contact_key(contact), dispatcher, tracker)
        return {"contact": contact}


class ActionAskCategory(ServiceAction, Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    """Offers the category suggested by the customer's own words first, with the cues, then the alternatives."""

    def name(self) -> str:
        return "action_ask_category"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = language_of(tracker)
        suggestion: CategorySuggestion | None = self.services.classifier.suggest_category(_words_of(tracker))
        if suggestion is None:
            dispatcher.utter_message(
                text=say("ask_category", language), buttons=_category_buttons(list(Category), language)
            )
            return []
        text = say(
            "ask_category_suggested",
            language,
            category=name_of(suggestion.category.value, language),
            cues="”, “".join(suggestion.cues[:3]),
        )
        order = [suggestion.category, *suggestion.alternatives]
        dispatcher.utter_message(text=text, buttons=_category_buttons(order, language))
        return []


class ActionAskUrgency(ServiceAction, Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    def name(self) -> str:
        return "action_ask_urgency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        language = language_of(tracker)
        suggestion: UrgencySuggestion = self.services.classifier.suggest_urgency(_words_of(tracker))
        order = _urgency_order(suggestion.urgency)
        if suggestion.cues:
            text = say(
                "ask_urgency_suggested",
                language,
                urgency=name_of(suggestion.urgency.value, language),
                cues="”, “".join(suggestion.cues[:3]),
            )
        else:
            text = say("ask_urgency", language)
        dispatcher.utter_message(text=text, buttons=_urgency_buttons(order, language))
        return []


class ActionResetIssueForm(ServiceAction, Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    """Runs after the customer cancels the form: a cancelled report keeps nothing, not even the contact (it may be
    why they cancelled). A contact the channel or the customer profile knows comes back through `extract_contact`.
    """

    def name(self) -> str:
        return "action_reset_issue_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return form_reset(keep_contact=False)
