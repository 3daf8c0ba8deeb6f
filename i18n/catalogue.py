"""Gettext message catalogues (Babel): the one home of every customer- and staff-facing sentence.

Owns loading `i18n/locale/<locale>/LC_MESSAGES/<domain>.po`, picking a language's translation of an English message
id, filling its named placeholders, and exporting a catalogue as JSON for browser code. The `.po` files are read
directly (no compiled `.mo`), so a clean clone works without a build step. Must never import web code.

Domains: `messages` (what Python code says: to customers, and the canned replies' titles agents pick),
`widget` (the chat widget and the demo chat page), `staff` (the staff pages: login, console, supervisor view,
FAQ editor).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
MESSAGES = "messages"
WIDGET = "widget"
STAFF = "staff"
DOMAINS = (MESSAGES, WIDGET, STAFF)
# The languages customers and staff choose between (as stored on conversations), and each one's gettext locale.
LOCALES: Mapping[str, str] = {"en": "en", "zh": "zh_CN"}
LANGUAGES = tuple(LOCALES)
DEFAULT_LANGUAGE = "en"


def language_of(value: str | None) -> str:
    """'zh', 'zh-CN', 'zh_Hans', 'ZH' → 'zh'; anything that is not Chinese → 'en' (English is the fallback)."""
    return "zh" if (value or "").strip().lower()[:2] == "zh" else DEFAULT_LANGUAGE


def catalogue_path(locale: str, domain: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


@functools.cache
def load(locale: str, domain: str) -> Catalog:
    """One catalogue, parsed once per process (the files only change with a deploy)."""
    with catalogue_path(locale, domain).open("rb") as fileobj:
        return read_po(fileobj, locale=locale, domain=domain)


@functools.cache
def translations(language: str, domain: str = MESSAGES) -> Mapping[str, str]:
    """msgid → translated text for one language; untranslated and fuzzy entries are left out (the id is used)."""
    catalogue = load(LOCALES[language_of(language)], domain)
    return {
        str(message.id): str(message.string)
        for message in catalogue
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
    }


def gettext(language: str, msgid: str, domain: str = MESSAGES) -> str:
    """The text for `msgid` in `language`, or the English id itself when the catalogue has none."""
    return translations(language, domain).get(msgid, msgid)


def translate(language: str, msgid: str, /, **params: object) -> str:
    """`translate("zh", "You are number {position} in the queue.", position=3)` → the Chinese sentence, filled in.

    Placeholders are named (`{position}`), so a translation may put them in any order.
    """
    text = gettext(language, msgid)
    return text.format(**params) if params else text


def bilingual(msgid: str, /, **params: object) -> str:
    """English, a line break, Chinese: for the few places that speak before the customer's language is known."""
    return "\n".join(translate(language, msgid, **params) for language in LANGUAGES)


def N_(msgid: str) -> str:
    """Marks a message id for extraction where it is defined; it is translated later, where it is said."""
    return msgid


def catalogue_json(language: str, domain: str) -> str:
    """One language's catalogue as a JSON object {English msgid: text}, for browser code (`t(msgid, params)`)."""
    if domain not in DOMAINS:
        raise KeyError(domain)
    return json.dumps(dict(translations(language, domain)), ensure_ascii=False, sort_keys=True)


__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAINS",
    "LANGUAGES",
    "LOCALES",
    "LOCALE_DIR",
    "MESSAGES",
    "N_",
    "STAFF",
    "WIDGET",
    "bilingual",
    "catalogue_json",
    "catalogue_path",
    "gettext",
    "language_of",
    "load",
    "translate",
    "translations",
]
