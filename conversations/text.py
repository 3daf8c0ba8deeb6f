"""The one rule for free text that people type: customer messages, agent replies and notes, FAQ fields; and the one
rule for the id a client gives a customer message (`valid_client_message_id`).

Owns `checked_text` and its problems. Every entry point that takes free text (the chat API and its WebSocket, the
Socket.IO channel, the agent console, tickets, the FAQ editor and import) calls it, so they all accept the same
text. Must never know HTTP: the web layer maps `InvalidText` to a status.
"""

from __future__ import annotations

import re
from enum import StrEnum

# Line breaks and tabs are text; every other C0/C1 control character (NUL above all) is not.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A client's id for one customer message: a UUID, a counter, WeChat's MsgId; never free text.
CLIENT_MESSAGE_ID_PATTERN = r"[A-Za-z0-9._:-]{1,128}"
_CLIENT_MESSAGE_ID = re.compile(CLIENT_MESSAGE_ID_PATTERN)
CLIENT_MESSAGE_ID_RULE = "1 to 128 letters, digits or . _ : -"


def valid_client_message_id(value: object) -> bool:
    """Whether `value` can be a client message id (`CLIENT_MESSAGE_ID_RULE`)."""
    return isinstance(value, str) and _CLIENT_MESSAGE_ID.fullmatch(value) is not None


class TextProblem(StrEnum):
    NOT_A_STRING = "not_a_string"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    CONTROL_CHARACTER = "control_character"  # NUL and other control characters except tab and line breaks
    LONE_SURROGATE = "lone_surrogate"  # half a UTF-16 pair: JSON "\ud800" decodes to it, and no database stores it


class InvalidText(ValueError):
    def __init__(self, problem: TextProblem, max_chars: int) -> None:
        messages = {
            TextProblem.NOT_A_STRING: "must be a string",
            TextProblem.EMPTY: "is empty",
            TextProblem.TOO_LONG: f"is longer than {max_chars} characters",
            TextProblem.CONTROL_CHARACTER: "must not contain NUL or other control characters",
            TextProblem.LONE_SURROGATE: "must not contain lone surrogates (invalid Unicode)",
        }
        super().__init__(messages[problem])
        self.problem = problem
        self.max_chars = max_chars


def checked_text(value: object, *, max_chars: int, required: bool = True) -> str:
    """`value` stripped of surrounding whitespace, or InvalidText: not a string, empty (when required), longer than
    `max_chars` after stripping, or holding a control character (other than tab and line breaks) or a lone
    surrogate."""
    if not isinstance(value, str):
        raise InvalidText(TextProblem.NOT_A_STRING, max_chars)
    text = value.strip()
    if _CONTROL.search(text):
        raise InvalidText(TextProblem.CONTROL_CHARACTER, max_chars)
    if _SURROGATE.search(text):
        raise InvalidText(TextProblem.LONE_SURROGATE, max_chars)
    if required and not text:
        raise InvalidText(TextProblem.EMPTY, max_chars)
    if len(text) > max_chars:
        raise InvalidText(TextProblem.TOO_LONG, max_chars)
    return text


__all__ = [
    "CLIENT_MESSAGE_ID_PATTERN",
    "CLIENT_MESSAGE_ID_RULE",
    "InvalidText",
    "TextProblem",
    "checked_text",
    "valid_client_message_id",
]
