"""Every exception the alerts package raises, in one place.

Must never hold logic: the caller wrote a bad alert (a programming error), so these are never shown to staff.
"""

from __future__ import annotations


class AlertError(Exception):
    """Base of every alerts error."""


class InvalidAlert(AlertError):
    """An alert that cannot be stored: no title, a recipient that names no one, a link off our site, parameters
    that are not JSON."""
