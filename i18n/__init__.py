"""Message catalogues for frontdoor's two languages (English, Chinese): `translate(language, msgid, **params)` for
Python, `catalogue_json(language, domain)` for browser code. Imports no web code."""

from i18n.catalogue import (
    DEFAULT_LANGUAGE,
    DOMAINS,
    LANGUAGES,
    LOCALES,
    MESSAGES,
    N_,
    STAFF,
    WIDGET,
    bilingual,
    catalogue_json,
    gettext,
    language_of,
    translate,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAINS",
    "LANGUAGES",
    "LOCALES",
    "MESSAGES",
    "N_",
    "STAFF",
    "WIDGET",
    "bilingual",
    "catalogue_json",
    "gettext",
    "language_of",
    "translate",
]
