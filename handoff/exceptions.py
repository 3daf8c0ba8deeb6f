"""Every exception the handoff package raises, in one place.

Lost races are not exceptions: they come back as None or False. These are for calls that can never succeed.
"""

from __future__ import annotations


class HandoffError(Exception):
    """Base class for handoff errors."""


class UnknownAgent(HandoffError):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"no agent {agent_id!r} is registered")
        self.agent_id = agent_id


class IllegalTransition(HandoffError):
    """A transition the ownership state machine never allows (a programming error, not a race)."""

    def __init__(self, source: str, target: str) -> None:
        super().__init__(f"ownership cannot move from {source!r} to {target!r}")
        self.source = source
        self.target = target


class InvalidSettings(HandoffError):
    """Handoff settings that cannot work: an unknown timezone, opening hours that end before they start."""
