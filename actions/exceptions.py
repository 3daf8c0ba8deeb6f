"""Every exception the rasa-sdk actions raise, in one place.

Must never hold logic. Actions catch service failures themselves and hand off with reason `bot_error`; these
exist for misconfiguration found while wiring the executor.
"""

from __future__ import annotations


class ActionsError(Exception):
    """Base of every actions error."""


class DuplicateActionName(ActionsError):
    def __init__(self, name: str) -> None:
        super().__init__(f"two actions are named {name!r}")
        self.name = name
