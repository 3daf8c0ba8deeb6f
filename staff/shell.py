"""The staff page shell's one source of truth: which pages exist, which role opens each, and each member's home.

The navigation (`staff/static/shell.js`), the `/staff` home redirect and every page handler read `STAFF_PAGES`, so a
member is never shown a link that answers 403, and a new page (tickets, analytics) is one line here. Also the
language a staff request reads in (`request_language`), for texts the server translates.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from i18n import language_of
from staff.auth import Role, StaffMember

# The staff pages' language choice; static/i18n.js writes it (its language switch) and reads it first.
LANGUAGE_COOKIE = "fd_lang"


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
    StaffPage("analytics", "/console/analytics", "Analytics", Role.SUPERVISOR),
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


def request_language(request: web.Request) -> str:
    """The request's language ("en" | "zh"), as static/i18n.js picks it: `?lang=`, else the `fd_lang` cookie, else
    the browser's first language (Accept-Language)."""
    chosen = request.query.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    if chosen:
        return language_of(chosen)
    return language_of(request.headers.get("Accept-Language"))


__all__ = ["LANGUAGE_COOKIE", "STAFF_PAGES", "StaffPage", "home_for", "pages_for", "request_language"]
