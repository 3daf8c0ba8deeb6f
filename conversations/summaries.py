"""A past conversation in one line, for the agent's customer panel.

Owns `one_line_summary`. Pure: reads transcript messages it is given, never storage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from conversations.models import Message, Sender

SUMMARY_CHARS = 100


def one_line_summary(messages: Sequence[Message], max_chars: int = SUMMARY_CHARS) -> str:
    """The customer's first own words (a button they clicked is not theirs), whitespace folded to single spaces and
    cut to `max_chars` with an ellipsis; "" when they wrote nothing."""
    for message in messages:
        if message.sender is not Sender.CUSTOMER or message.custom.get("payload"):
            continue
        text = re.sub(r"\s+", " ", message.text).strip()
        if text:
            return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"
    return ""
