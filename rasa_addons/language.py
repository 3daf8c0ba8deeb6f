"""Which language a message sets the conversation's `language` slot to, without Rasa's help (no tracker, no model).

Owns the precedence the slot follows: the front door's `metadata.lang`, else the message's characters when they
decide it, else nothing (the slot keeps the conversation's language: a button click, an email, an order number or a
bare "ok" says nothing about it). Imports no Rasa, so the front door's tests check it directly.

The characters are read by kb/language.py, the one home of language detection. Rasa's Python 3.10 cannot import the
`kb` package (its result types use 3.11's StrEnum), so that one file, which by its own contract needs nothing but the
standard library, is loaded by path (tests/rasa_addons checks that it stays so).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

KB_LANGUAGE_FILE = Path(__file__).resolve().parents[1] / "kb" / "language.py"
# Rasa's button payloads ("/intent{...}") are read by its RegexMessageHandler, never as words.
PAYLOAD_PREFIX = "/"
# The entity that carries the language to the slot (domain.yml: entity `language`, slot mapping from_entity).
LANGUAGE_ENTITY = "language"


def _load_kb_language() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rasa_addons._kb_language", KB_LANGUAGE_FILE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {KB_LANGUAGE_FILE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_kb_language = _load_kb_language()
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(_kb_language.SUPPORTED_LANGUAGES)


def message_language(text: str, metadata: Mapping[str, Any] | None) -> str | None:
    """'en' or 'zh' when this message sets the conversation's language; None when it leaves it as it was."""
    lang = (metadata or {}).get("lang")
    if lang in SUPPORTED_LANGUAGES:
        return str(lang)
    if text.lstrip().startswith(PAYLOAD_PREFIX):
        return None
    # An empty default comes back when the text does not decide (no words, or a short Latin token).
    detected = str(_kb_language.detect_language(text, default=""))
    return detected or None


def language_entity(text: str, metadata: Mapping[str, Any] | None, extractor: str) -> dict[str, Any] | None:
    """The `language` entity Rasa's parse of this message should carry (a whole-message span), or None."""
    language = message_language(text, metadata)
    if language is None:
        return None
    return {"entity": LANGUAGE_ENTITY, "value": language, "start": 0, "end": len(text), "extractor": extractor}
