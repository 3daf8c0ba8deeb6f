"""The staff page shell's one source of truth: which pages exist, which role opens each, and each member's home.

The navigation (`staff/static/shell.js`), the `/staff` home redirect and every page handler read `STAFF_PAGES`, so a
member is never shown a link that answers 403, and a new page (tickets, analytics) is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from staff.auth import Role, StaffMember


@dataclass(frozen=True)
class StaffPage:
    """A page of the staff program: `label` is the English text (the catalogue's message id)."""

    key: str
    path: str
    label: str
    role: Role


STAFF_PAGES: tuple[StaffPage, ...] = (
    StaffPage("console", "/console", "Agent console", Role.AGENT),
    StaffPage("tickets", "/console/tickets", "Tickets", Role.AGENT),
    StaffPage("supervisor", "/console/supervisor", "Supervisor", Role.SUPERVISOR),
    StaffPage("teams", "/console/teams", "Teams", Role.SUPERVISOR),
    StaffPage("editor", "/editor", "FAQ editor", Role.EDITOR),
)

# Where a member lands after login: the first page of their most specific role.
_HOME_ORDER = (Role.SUPERVISOR, Role.AGENT, Role.EDITOR)


def pages_for(member: StaffMember) -> list[StaffPage]:
    """The pages `member` may open, in navigation order."""
    return [page for page in STAFF_PAGES if member.has(page.role)]


def home_for(member: StaffMember) -> str | None:
    """The path `member` lands on, or None when no page is theirs (an account with no usable role)."""
    for role in _HOME_ORDER:
        if role in member.roles or Role.ADMIN in member.roles:
            return next(page.path for page in STAFF_PAGES if page.role is role)
    return None


__all__ = ["STAFF_PAGES", "StaffPage", "home_for", "pages_for"]
