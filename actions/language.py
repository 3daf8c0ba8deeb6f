"""`action_detect_language`: the custom slot mapping that keeps slot `language` (en/zh) current.

Owns the precedence: the front door's `metadata.lang`, else the characters of the message, else the language the
conversation already had. Must never guess a third language: replies exist in English and Chinese only.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answer_checks import read_payload
from actions.context import latest_text
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
        return [SlotSet("language", detect(tracker))]
