"""Reading a conversation from a rasa-sdk Tracker: language, customer identity, payload entities, earlier KB
results and tickets.

Owns how actions find facts in the tracker. Must never write events or talk to services.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker

from actions.answer_checks import read_payload
from kb.decision import Decision, KBResult
from kb.language import SUPPORTED_LANGUAGES, detect_language

FORM_SLOTS = ("order_number", "product", "description", "category", "urgency", "contact")


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def latest_intent(tracker: Tracker) -> tuple[str, float | None]:
    intent = tracker.latest_message.get("intent") or {}
    confidence = intent.get("confidence")
    return str(intent.get("name") or ""), float(confidence) if confidence is not None else None


def nlu_of(tracker: Tracker) -> dict[str, Any]:
    """What the latest message was classified as, for the front door's service record: {"intent", "confidence"}."""
    intent, confidence = latest_intent(tracker)
    return {"intent": intent or None, "confidence": confidence}


def _metadata_dicts(tracker: Tracker) -> list[Mapping[str, Any]]:
    """The latest message's metadata first, then earlier user events' (newest first)."""
    found: list[Mapping[str, Any]] = []
    latest = tracker.latest_message.get("metadata")
    if isinstance(latest, Mapping):
        found.append(latest)
    for event in reversed(tracker.events):
        if event.get("event") == "user" and isinstance(event.get("metadata"), Mapping):
            found.append(event["metadata"])
    return found


def metadata_value(tracker: Tracker, key: str) -> Any:
    for metadata in _metadata_dicts(tracker):
        if metadata.get(key) not in (None, ""):
            return metadata[key]
    return None


def customer_id_of(tracker: Tracker) -> str:
    """The front door's customer id; without one, tickets are scoped to this conversation alone."""
    value = metadata_value(tracker, "customer_id")
    return str(value) if value else f"conversation:{tracker.sender_id}"


def language_of(tracker: Tracker) -> str:
    slot = tracker.get_slot("language")
    if slot in SUPPORTED_LANGUAGES:
        return str(slot)
    meta = metadata_value(tracker, "lang")
    if meta in SUPPORTED_LANGUAGES:
        return str(meta)
    return detect_language(latest_text(tracker))


def message_entities(tracker: Tracker) -> dict[str, Any]:
    """Entities of the latest message: Rasa's, plus those written in a button payload in the text."""
    entities: dict[str, Any] = {}
    payload = read_payload(latest_text(tracker))
    if payload:
        entities.update(payload[1])
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") and entity.get("value") is not None:
            entities.setdefault(str(entity["entity"]), entity["value"])
    return entities


def _bot_custom(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if event.get("event") != "bot":
        return None
    data = event.get("data") or {}
    custom = data.get("custom")
    return custom if isinstance(custom, Mapping) else None


def kb_results(tracker: Tracker) -> list[KBResult]:
    """Earlier KB results this conversation, newest first (from the `{"kb": …}` payloads the bot sent)."""
    results: list[KBResult] = []
    for event in reversed(tracker.events):
        custom = _bot_custom(event)
        if custom and isinstance(custom.get("kb"), Mapping):
            try:
                results.append(KBResult.from_dict(dict(custom["kb"])))
            except (KeyError, TypeError, ValueError):
                continue
    return results


def consecutive_not_found(tracker: Tracker) -> int:
    """How many of the latest KB results in a row were not_found (this turn's not included)."""
    count = 0
    for result in kb_results(tracker):
        if result.decision is not Decision.NOT_FOUND:
            break
        count += 1
    return count


def last_handoff_sent(tracker: Tracker) -> bool:
    for event in reversed(tracker.events):
        custom = _bot_custom(event)
        if custom and "handoff" in custom:
            return True
        if event.get("event") == "user":
            return False
    return False


def ticket_number_in(text: str, prefix: str = "FD", digits: int = 6) -> str | None:
    """'fd-000123', 'FD 000123', 'FD000123' -> 'FD-000123'."""
    match = re.search(rf"\b{re.escape(prefix)}[\s\-_]?(\d{{1,12}})\b", text, re.IGNORECASE)
    if not match:
        return None
    return f"{prefix.upper()}-{match.group(1).zfill(digits)}"


def user_messages(tracker: Tracker) -> list[Mapping[str, Any]]:
    """User events, newest first."""
    return [e for e in reversed(tracker.events) if e.get("event") == "user"]


def report_message(tracker: Tracker) -> Mapping[str, Any] | None:
    """The customer's most recent report_issue message: its words pre-fill the description and the product."""
    for event in user_messages(tracker):
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") == "report_issue":
            return event
    return None


def value_before_this_turn(tracker: Tracker, slot: str) -> Any:
    """A slot's value as it was before the latest user message (validation sees the new candidate in `slots`)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def collected_fields(tracker: Tracker) -> dict[str, Any]:
    fields = {slot: tracker.get_slot(slot) for slot in FORM_SLOTS}
    fields["language"] = language_of(tracker)
    return {k: v for k, v in fields.items() if v not in (None, "")}
