"""What every action shares: the services it was built with, or the demo services when built without.

Owns `ServiceAction`. The no-argument fallback exists only because `python -m rasa_sdk --actions actions`
instantiates every Action subclass with no arguments; the front door always passes services in.
"""

from __future__ import annotations

from actions.demo import demo_services
from actions.services import ActionServices


class ServiceAction:
    """A mixin, not an Action itself, so rasa-sdk's package scan never tries to register it."""

    def __init__(self, services: ActionServices | None = None) -> None:
        self._services = services

    @property
    def services(self) -> ActionServices:
        if self._services is None:
            # Standalone development server only: one shared demo bundle, built on first use.
            self._services = demo_services()
        return self._services
