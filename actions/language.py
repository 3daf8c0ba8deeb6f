"""`action_detect_language`: the custom slot mapping that keeps slot `language` (en/zh) current.

Owns the precedence: the front door's `metadata.lang`, else the characters of the message, else the language the
conversation already had. Must never guess a third language: replies exist in English and Chinese only.

Rasa runs this after every user message, so it is also where the turn's classification reaches the front door: an
`{"nlu": {"intent", "confidence"}}` payload, which Rasa passes on in its reply and the pipeline keeps for the service
record's `bot_turn` (never in the transcript).
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answer_checks import read_payload
from actions.context import latest_intent, latest_text
from kb.language import ENGLISH, SUPPORTED_LANGUAGES, detect_language


def detect(tracker: Tracker) -> str:
    metadata = tracker.latest_message.get("metadata") or {}
    if metadata.get("lang") in SUPPORTED_LANGUAGES:
        return str(metadata["lang"])
    current = tracker.get_slot("language")
    fallback = str(current) if current in SUPPORTED_LANGUAGES else ENGLISH
    text = latest_text(tracker)
    if read_payload(text) is not None:
        return fallback  # a button click says nothing about the language
    # No letters at all (an order number, an emoji) keeps the conversation's language.
    return detect_language(text, default=fallback)


class ActionDetectLanguage(Action):  # type: ignore[misc]  # rasa-sdk ships no type hints
    """Needs no services, so it is a plain Action; registered like the others."""

    def __init__(self, services: object | None = None) -> None:
        self._services = services

    def name(self) -> str:
        return "action_detect_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent, confidence = latest_intent(tracker)
        if intent:
            dispatcher.utter_message(json_message=nlu_payload(intent, confidence))
        return [SlotSet("language", detect(tracker))]


def nlu_payload(intent: str, confidence: float | None) -> dict[str, dict[str, object]]:
    """What the turn's message was classified as, for the front door's service record."""
    return {"nlu": {"intent": intent, "confidence": confidence}}
