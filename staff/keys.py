"""Typed keys of what the staff program keeps in its `web.Application` (the front door's are in bot.keys)."""

from __future__ import annotations

from aiohttp import web

from staff.auth import StaffDirectory

STAFF = web.AppKey("staff", StaffDirectory)
