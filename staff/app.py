"""The staff program: login and the page shell (with its alerts bell), the agent console and supervisor page, the
ticket workspace and teams, customer records and read-only transcripts, the FAQ editor (with its calibration report)
and the analytics dashboard. It runs on the front door's services (`bot.app.setup_services`), in the same process or
its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bot.handoff_bridge import AGENT_PROFILES, HANDOFF
from bot.keys import DATABASE
from staff import pages
from staff.alerts_api import setup_alerts
from staff.analytics_api import setup_analytics
from staff.auth import Role, StaffDirectory
from staff.calibration_api import setup_calibration
from staff.console import setup_console
from staff.customers_api import setup_customers
from staff.editor import setup_editor
from staff.keys import STAFF
from staff.pdca_api import setup_pdca
from staff.teams_api import setup_teams
from staff.tickets_api import setup_tickets
from staff.transcripts_api import setup_transcripts


async def _staff_directory(app: web.Application) -> AsyncIterator[None]:
    """Staff accounts, and every agent registered with the handoff service so their skill queues count as served."""
    directory = StaffDirectory(app[DATABASE])
    app[STAFF] = directory
    # Only staff who may take chats are registered: a registered agent makes its skill queues "served", and a
    # profile without a person behind it would strand chats in a specialist queue nobody watches.
    for member in await directory.members():
        if member.has(Role.AGENT) and not member.disabled:
            profile = await app[AGENT_PROFILES].profile_for(member.username, member.display_name)
            await app[HANDOFF].register_agent(profile)
    yield


def setup_staff(app: web.Application) -> None:
    """Mount the staff program on an app that already has the front door's services."""
    app.cleanup_ctx.append(_staff_directory)
    app.add_routes(pages.routes)
    setup_alerts(app)
    setup_console(app)
    setup_tickets(app)
    setup_teams(app)
    setup_customers(app)
    setup_editor(app)
    setup_calibration(app)
    setup_analytics(app)
    setup_pdca(app)
    setup_transcripts(app)


__all__ = ["setup_staff"]
