"""Every exception the intake package raises, in one place.

Must never hold logic: callers map these to re-prompts, status codes or hand-offs.
"""

from __future__ import annotations


class IntakeError(Exception):
    """Base of every intake error."""


class InvalidSettings(IntakeError):
    """Intake settings (SLA targets, business hours, patterns) do not make sense."""


class InvalidOrderNumber(IntakeError):
    def __init__(self, order_number: str) -> None:
        super().__init__(f"not an order number: {order_number[:40]!r}")
        self.order_number = order_number


class OrderLookupFailed(IntakeError):
    """The order system could not be asked (network, 5xx, bad JSON); not the same as 'no such order'."""


class TicketNotFound(IntakeError):
    def __init__(self, number: str) -> None:
        super().__init__(f"no ticket {number!r}")
        self.number = number


class IllegalTransition(IntakeError):
    def __init__(self, number: str, from_status: str, to_status: str) -> None:
        super().__init__(f"ticket {number}: {from_status} -> {to_status} is not allowed")
        self.number = number
        self.from_status = from_status
        self.to_status = to_status


class UnknownTeam(IntakeError):
    def __init__(self, team_id: str) -> None:
        super().__init__(f"no team {team_id[:40]!r}")
        self.team_id = team_id


class InvalidTicketChange(IntakeError):
    """A change that cannot apply to this ticket: merging it into itself or into a closed ticket, a reply on a
    closed ticket."""
