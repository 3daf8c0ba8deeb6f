"""Typed keys of what the staff program keeps in its `web.Application` (the front door's are in bot.keys)."""

from __future__ import annotations

from aiohttp import web

from alerts.store import AlertStore
from staff.auth import StaffDirectory

STAFF = web.AppKey("staff", StaffDirectory)
# Staff alerts (the shell's bell): the SLA watcher writes them, `staff.alerts_api` lists them and marks them read.
ALERTS = web.AppKey("alerts", AlertStore)
