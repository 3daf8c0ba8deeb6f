"""Whether a customer's message plainly asks for a person, in English or Chinese, whatever else it says.

The assistant's NLU reads one intent per message, so "my kettle is broken, I want a human" is read as a problem
report and starts the issue form: the customer asked for a person and got a question about an order number. A
request for a person is always honoured (handoff/triggers.py: CUSTOMER_REQUEST), so the front door checks for one
before the bot reads the message and, when it finds one, hands the message to the bot as the `request_human` intent.

Deliberately narrow: only explicit phrasings ("talk to a human", "transfer me to an agent", "转人工", "人工客服"), and
not when negated ("I don't need a human", "不用转人工"). A message it misses still reaches the NLU as before.
"""

from __future__ import annotations

import re

# The bot's intent for a request for a person, as a message that names it (Rasa's "/intent" shortcut): what the
# "talk to a human" button sends, and what the front door sends for a message `asks_for_a_person` recognises.
HUMAN_REQUEST_PAYLOAD = "/request_human"

# Who a customer may ask for.
_PERSON = (
    r"(?:a |an |the |some |your |a real |a live |real |live )?"
    r"(?:human(?: being| agent)?|person|agent|representative|rep|operator|someone|somebody|staff(?: member)?|"
    r"manager|customer service(?: rep(?:resentative)?)?|support (?:staff|team|agent))"
)
_ENGLISH = re.compile(
    r"\b(?:talk|speak|chat)\s+(?:to|with)\s+" + _PERSON + r"\b"
    r"|\b(?:transfer|connect|put)\s+me\s+(?:to|through to|with)\s+" + _PERSON + r"\b"
    r"|\b(?:want|need|get me|give me|would like|'d like)\s+" + _PERSON + r"\b(?!\s+(?:to|who|that)\b)"
    r"|\b(?:human|live|real)\s+(?:agent|person|help)\b"
    r"|^\s*(?:human|agent|operator|representative)(?:\s+please)?\s*[.!?]*\s*$",
    re.IGNORECASE,
)
_CHINESE = re.compile(r"转人工|人工客服|人工服务|找人工|要人工|接人工|真人客服|找真人|转接客服|转客服")
# A negation shortly before the request turns it around: in English in the same clause ("I don't need a human"); in
# Chinese just before it or overlapping its first character ("不用转人工", "不需要人工": 需要人工 holds 要人工).
_ENGLISH_NEGATION = re.compile(r"\b(?:don'?t|do not|no need|not|never|without)\b[^.!?,;]{0,24}$", re.IGNORECASE)
_CHINESE_NEGATION = re.compile(r"不要|不用|不需要|不必|别|无需|没必要|不想")
_CHINESE_WINDOW = 4  # characters before the request in which a negation counts


def _english(text: str) -> bool:
    return any(not _ENGLISH_NEGATION.search(text[: m.start()]) for m in _ENGLISH.finditer(text))


def _chinese(text: str) -> bool:
    return any(
        not _CHINESE_NEGATION.search(text[max(0, m.start() - _CHINESE_WINDOW) : m.start() + 1])
        for m in _CHINESE.finditer(text)
    )


def asks_for_a_person(text: str) -> bool:
    """True when `text` (a customer's message, any length) explicitly asks for a human, not negated."""
    return _english(text) or _chinese(text)


__all__ = ["HUMAN_REQUEST_PAYLOAD", "asks_for_a_person"]
