"""What an agent may change on a customer record, and the rules it must keep: name, tier, tags, preferences and the
contact fields.

Owns `ProfileChanges` and `checked_changes`, which turns a request's JSON object into one or raises
`InvalidProfile` naming the field. Pure: must never touch storage (conversations/customers.py applies the changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conversations.exceptions import InvalidProfile
from conversations.identity import email_key, phone_key
from conversations.models import Tier
from conversations.text import InvalidText, TextProblem, checked_text

MAX_NAME_CHARS = 80
MAX_TAGS = 20
MAX_TAG_CHARS = 32
MAX_PREFERENCES = 20
MAX_PREFERENCE_KEY_CHARS = 40
MAX_PREFERENCE_VALUE_CHARS = 200
MAX_CONTACT_CHARS = 120
FIELDS = ("display_name", "tier", "tags", "preferences", "email", "phone")


@dataclass(frozen=True)
class ProfileChanges:
    """None leaves a field as it is; an empty string clears a text field, an empty list or object clears tags or
    preferences. `tags` are kept in the given order, without duplicates."""

    display_name: str | None = None
    tier: Tier | None = None
    tags: tuple[str, ...] | None = None
    preferences: Mapping[str, str] | None = None
    email: str | None = None
    phone: str | None = None

    def columns(self) -> dict[str, Any]:
        """The changed fields, by column (tags and preferences still as values: the store encodes them)."""
        return {name: getattr(self, name) for name in FIELDS if getattr(self, name) is not None}


def _text(field: str, value: object, max_chars: int, *, required: bool = False) -> str:
    try:
        return checked_text(value, max_chars=max_chars, required=required)
    except InvalidText as exc:
        raise InvalidProfile(field, str(exc), too_long=exc.problem is TextProblem.TOO_LONG) from exc


def checked_tags(value: object) -> tuple[str, ...]:
    """At most `MAX_TAGS` tags of 1 to `MAX_TAG_CHARS` characters each (no line breaks), duplicates dropped."""
    if not isinstance(value, list):
        raise InvalidProfile("tags", "must be a list of strings")
    tags: list[str] = []
    for raw in value:
        tag = _text("tags", raw, MAX_TAG_CHARS, required=True)
        if "\n" in tag or "\r" in tag or "\t" in tag:
            raise InvalidProfile("tags", "must not contain line breaks or tabs")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidProfile("tags", f"holds at most {MAX_TAGS} tags")
    return tuple(tags)


def checked_preferences(value: object) -> dict[str, str]:
    """At most `MAX_PREFERENCES` string entries, e.g. {"contact_channel": "wechat", "language": "zh"}."""
    if not isinstance(value, Mapping):
        raise InvalidProfile("preferences", "must be an object of strings")
    if len(value) > MAX_PREFERENCES:
        raise InvalidProfile("preferences", f"holds at most {MAX_PREFERENCES} entries")
    return {
        _text("preferences", key, MAX_PREFERENCE_KEY_CHARS, required=True): _text(
            "preferences", item, MAX_PREFERENCE_VALUE_CHARS
        )
        for key, item in value.items()
    }


def checked_changes(data: Mapping[str, Any]) -> ProfileChanges:
    """The changes a request asks for. Raises InvalidProfile for an unknown field, a tier that is not one, a bad
    email or phone, and anything too long or too many."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidProfile(unknown[0], f"is not a field of a customer record (known: {', '.join(FIELDS)})")
    tier: Tier | None = None
    if "tier" in data:
        if not isinstance(data["tier"], str) or data["tier"] not in {t.value for t in Tier}:
            raise InvalidProfile("tier", "must be one of " + ", ".join(t.value for t in Tier))
        tier = Tier(data["tier"])
    email = _text("email", data["email"], MAX_CONTACT_CHARS) if "email" in data else None
    if email:
        key = email_key(email)
        if key is None or key.value != email.lower():
            raise InvalidProfile("email", "is not an email address")
        email = key.value
    phone = _text("phone", data["phone"], MAX_CONTACT_CHARS) if "phone" in data else None
    if phone and phone_key(phone) is None:
        raise InvalidProfile("phone", "is not a phone number (7 to 15 digits)")
    return ProfileChanges(
        display_name=_text("display_name", data["display_name"], MAX_NAME_CHARS) if "display_name" in data else None,
        tier=tier,
        tags=checked_tags(data["tags"]) if "tags" in data else None,
        preferences=checked_preferences(data["preferences"]) if "preferences" in data else None,
        email=email,
        phone=phone,
    )
