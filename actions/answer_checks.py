"""Checks on what a customer typed into a form slot: markup, length, emoji-only, gibberish, another language,
contact formats, and reading button payloads.

Owns `check_text`, `find_contact` and `read_payload`. Pure functions; must never talk to a service or decide what
the bot says (the validation action maps each `Problem` to a re-prompt).
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from kb.language import is_cjk


class Problem(StrEnum):
    NO_WORDS = "no_words"  # emoji, punctuation or digits only where words are needed
    TOO_LONG = "too_long"
    MARKUP = "markup"
    OTHER_LANGUAGE = "other_language"
    GIBBERISH = "gibberish"
    TOO_SHORT = "too_short"


_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|javascript\s*:|&lt;\s*/?\s*script|\bon\w+\s*=\s*['\"]", re.IGNORECASE)
_LATIN_WORD = re.compile(r"[a-zA-Z\u00c0-\u024f]+(?:'[a-z]+)?")
_KEYBOARD_RUNS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Upper-case words up to this long are read as acronyms and product names, never as gibberish.
MAX_ACRONYM_LETTERS = 6
_VOWELS = set("aeiouy")
# Function words that mark a Latin-script message as Spanish, French, German, Portuguese or Italian rather than
# English. Deliberately small: a message is only "another language" when these dominate and English words do not.
_FOREIGN_WORDS = frozenset(
    re.findall(
        r"\S+",
        "el la los las es está mi mis que por para una del con pero muy no funciona roto "
        "le les est mon ma mes je pas une des avec mais très ne fonctionne cassé "
        "der die das ist mein meine nicht und ein eine mit aber sehr funktioniert kaputt "
        "o os um uma meu minha não com mas quebrado il lo gli è mio non rotto",
    )
)
_ENGLISH_WORDS = frozenset(
    re.findall(
        r"\S+",
        "the a an is are was it my i me you we not and but with to of in on for this that have has broken "
        "doesn't don't work works working order please help",
    )
)


def _keyboard_mash(word: str) -> bool:
    lowered = word.lower()
    for row in _KEYBOARD_RUNS:
        for i in range(len(row) - 3):
            if row[i : i + 4] in lowered:
                return True
    return False


def _nonsense_word(word: str) -> bool:
    if word.isupper() and len(word) <= MAX_ACRONYM_LETTERS:
        return False  # an acronym or model name: "DSLR", "HDTV", "LCD" have no vowels and mean something
    lowered = word.lower()
    if len(lowered) >= 4 and not (_VOWELS & set(lowered)):
        return True
    return _keyboard_mash(lowered) or re.search(r"(.)\1\1", lowered) is not None


def _other_script_letters(text: str) -> int:
    """Letters that are neither Latin nor Chinese: Cyrillic, Arabic, Hebrew, Thai, Devanagari, Hangul, kana…"""
    return sum(
        1 for ch in text if ch.isalpha() and not is_cjk(ch) and not ("a" <= ch.lower() <= "z") and ord(ch) > 0x24F
    )


def check_text(text: str, *, max_chars: int, min_words: int = 1) -> Problem | None:
    """The first problem with a free-text answer, or None when it is fine.

    `min_words` counts Latin words or Chinese characters (one ideograph carries roughly a word, see
    kb.language.detect_language): a description needs a few, a product name one.
    """
    stripped = text.strip()
    if not stripped:
        return Problem.NO_WORDS
    if _MARKUP.search(stripped):
        return Problem.MARKUP
    if len(stripped) > max_chars:
        return Problem.TOO_LONG
    cjk = sum(1 for ch in stripped if is_cjk(ch))
    latin_words = _LATIN_WORD.findall(stripped)
    other = _other_script_letters(stripped)
    if other and other >= cjk + sum(len(w) for w in latin_words):
        return Problem.OTHER_LANGUAGE
    if not cjk and not latin_words:
        return Problem.NO_WORDS
    if not cjk:
        lowered = [w.lower() for w in latin_words]
        foreign = sum(1 for w in lowered if w in _FOREIGN_WORDS)
        english = sum(1 for w in lowered if w in _ENGLISH_WORDS)
        if len(lowered) >= 3 and foreign * 3 >= len(lowered) and english * 10 < len(lowered):
            return Problem.OTHER_LANGUAGE
        if sum(1 for w in latin_words if _nonsense_word(w)) * 2 >= len(latin_words):
            return Problem.GIBBERISH
    elif re.fullmatch(r"(.)\1{3,}", re.sub(r"\W", "", stripped)):
        return Problem.GIBBERISH  # '啊啊啊啊'
    if cjk + len(latin_words) < min_words:
        return Problem.TOO_SHORT
    return None


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?\d[\d\s\-()]{5,18}\d")


def find_contact(text: str) -> str | None:
    """An email address or phone number inside `text`, normalised; None when there is neither.

    Phones keep a leading '+' and 7 to 15 digits (E.164 allows 15); spaces, dashes and brackets are dropped.
    """
    email = _EMAIL.search(text)
    if email:
        return email.group(0).lower()
    for match in _PHONE.finditer(text.translate(_FULLWIDTH)):
        digits = re.sub(r"\D", "", match.group(0))
        if 7 <= len(digits) <= 15:
            return ("+" if match.group(0).startswith("+") else "") + digits
    return None


_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")
_PAYLOAD = re.compile(r"^/(?P<intent>[\w\-]+)(?P<entities>\{.*\})?\s*$", re.DOTALL)


def read_payload(text: str) -> tuple[str, dict[str, Any]] | None:
    """`/inform{"category":"delivery"}` -> ('inform', {'category': 'delivery'}); None for ordinary text.

    Rasa parses button payloads itself, but the raw payload is also the message text, and a `from_text` slot
    mapping hands it to validation verbatim; reading it here keeps both mappings working.
    """
    match = _PAYLOAD.match(text.strip())
    if not match:
        return None
    entities: dict[str, Any] = {}
    if match.group("entities"):
        try:
            parsed = json.loads(match.group("entities"))
        except ValueError:
            return None
        if isinstance(parsed, dict):
            entities = parsed
    return match.group("intent"), entities
