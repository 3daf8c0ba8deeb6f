"""What identifies a customer: a channel identity (web visitor, WeChat OpenID), a WeChat UnionID, an email address,
a phone number or the shop's own customer id — each an `IdentityKey` of a kind and a normalised value.

Owns the normalisation that makes two spellings of one contact the same key (`Alex@Example.com` and
`alex@example.com`; `+86 138-0013-8000` and `13800138000`) and the masked form staff pages show. Pure functions:
must never touch storage (conversations/customers.py links keys to customers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class IdentityKind(StrEnum):
    """The kinds of key a customer record holds. The channel kinds are the channels' own names (`web` is a
    browser's visitor token hash, `wechat` an OpenID); the others are linked only when proven or by an agent."""

    WEB = "web"
    SOCKETIO = "socketio"
    WECHAT = "wechat"
    WECHAT_UNION = "wechat_union"  # one person across a company's WeChat accounts and mini programs
    EMAIL = "email"
    PHONE = "phone"
    SHOP = "shop"  # the order system's customer id


# Kinds that say how to reach someone; a proof (an order plus one of these) links them.
CONTACT_KINDS = frozenset({IdentityKind.EMAIL, IdentityKind.PHONE})

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")
MAX_VALUE_CHARS = 200


@dataclass(frozen=True, order=True)
class IdentityKey:
    """`kind` is an `IdentityKind` value (or another channel's name); `value` is already normalised."""

    kind: str
    value: str

    def masked(self) -> str:
        """What a staff page shows of a contact: `a***@example.com`, `***8000`; other kinds in full."""
        if self.kind == IdentityKind.EMAIL:
            name, _, domain = self.value.partition("@")
            return f"{name[:1]}***@{domain}"
        if self.kind == IdentityKind.PHONE:
            return "***" + self.value[-4:]
        return self.value

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "value": self.value}


def email_key(text: str) -> IdentityKey | None:
    """The first email address in `text`, lower-cased; None when there is none."""
    match = _EMAIL.search(text or "")
    return IdentityKey(IdentityKind.EMAIL.value, match.group(0).lower()) if match else None


def phone_key(text: str) -> IdentityKey | None:
    """The digits of a phone number (7 to 15 of them, as E.164 allows); None otherwise.

    A `00` or `+` international prefix is dropped, and so is China's `86` before an 11-digit mobile number, so the
    same mobile written with or without its country code is one key.
    """
    digits = re.sub(r"\D", "", (text or "").translate(_FULLWIDTH))
    if digits.startswith("00"):
        digits = digits[2:]
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return IdentityKey(IdentityKind.PHONE.value, digits) if 7 <= len(digits) <= 15 else None


def contact_key(text: str) -> IdentityKey | None:
    """An email address (preferred) or a phone number in `text`, as a key; None when there is neither."""
    if "@" in (text or ""):
        return email_key(text)
    return phone_key(text)


def identity_key(kind: str, value: str) -> IdentityKey:
    """A key of any kind, normalised as its kind wants. Raises ValueError for an empty, unreadable or oversized
    value (an email that is not one, a phone without enough digits)."""
    value = (value or "").strip()
    if not value or len(value) > MAX_VALUE_CHARS:
        raise ValueError(f"an identity value must be 1 to {MAX_VALUE_CHARS} characters")
    if kind == IdentityKind.EMAIL:
        key = email_key(value) if _EMAIL.fullmatch(value) else None
    elif kind == IdentityKind.PHONE:
        key = phone_key(value)
    else:
        key = IdentityKey(kind, value)
    if key is None:
        raise ValueError(f"not a {kind}: {value!r}")
    return key
