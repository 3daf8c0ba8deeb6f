"""The handoff's environment variables: opening hours, routing timeouts, the sweeper and the policy's thresholds.

Owns `HandoffConfig` (the `FD_HANDOFF_*` variables, composed into the front door's settings as `Settings.handoff`),
which builds the `RoutingSettings` of `HandoffService` and the `HandoffSettings` of `HandoffPolicy`. Must never read
the environment itself: the process entry point builds it once (`HandoffConfig.from_env(os.environ)`), tests build
it with keyword arguments.
"""

from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, model_validator

from backends.settings import EnvSettings
from handoff.constants import KEY_PREFIX, SWEEP_INTERVAL_S
from handoff.exceptions import InvalidSettings
from handoff.routing import BusinessHours, RoutingSettings
from handoff.triggers import HandoffSettings

_SPAN = re.compile(r"^\s*(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$")
_DAYS = re.compile(r"^\s*([0-6])\s*(?:-\s*([0-6]))?\s*$")


def _span(value: str) -> str:
    if value and not _SPAN.match(value):
        raise ValueError("wants opening hours as HH:MM-HH:MM, e.g. 09:00-18:00")
    return value


def _days(value: str) -> str:
    match = _DAYS.match(value)
    if not match or int(match.group(2) or match.group(1)) < int(match.group(1)):
        raise ValueError("wants a weekday range such as 0-4 (0 = Monday, 6 = Sunday)")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone (want e.g. Asia/Shanghai)") from exc
    return value


class HandoffConfig(EnvSettings):
    """The `FD_HANDOFF_*` variables."""

    model_config = EnvSettings.config("FD_HANDOFF_")
    doc_title = "Human handoff (`handoff/settings.py`)"

    hours: Annotated[str, AfterValidator(_span)] = Field(
        "",
        description="Agents' opening hours, e.g. `09:00-18:00`; outside them a customer gets a ticket and a "
        "promise, not a wait.",
        json_schema_extra={"doc_default": "(empty: always open)"},
    )
    days: Annotated[str, AfterValidator(_days)] = Field("0-4", description="Open weekdays (0 = Monday).")
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        "UTC", description="Time zone of the opening hours, e.g. `Asia/Shanghai`."
    )
    unanswered_timeout_s: float = Field(
        90.0,
        gt=0,
        description="An assigned conversation the agent does not answer within this goes back to the queue.",
    )
    wrap_up_timeout_s: float = Field(
        300.0, gt=0, description="Longest wrap-up before the bot takes the conversation back."
    )
    auto_assign: bool = Field(
        True, description="`0` = pull mode: agents claim or pull from the queue; nothing is assigned automatically."
    )
    sweep_interval_s: float = Field(
        SWEEP_INTERVAL_S,
        gt=0,
        description="How often queue positions, unanswered assignments and wrap-ups are checked.",
    )
    key_prefix: str = Field(
        KEY_PREFIX,
        min_length=1,
        description="Redis key prefix of the handoff state (to share one Redis between deployments).",
    )
    nlu_confidence_threshold: float = Field(
        0.4,
        ge=0,
        le=1,
        description="An intent below this confidence hands off when the knowledge base could not answer either.",
    )
    not_found_limit: int = Field(
        2, ge=1, description="Knowledge-base misses in a row before the conversation goes to a human."
    )
    kb_no_match_confidence: float = Field(
        0.2,
        ge=0,
        le=1,
        description="A miss below this knowledge-base confidence hands off at once (`0` turns that off, leaving "
        "only the misses in a row).",
    )

    @model_validator(mode="after")
    def _hours_make_sense(self) -> HandoffConfig:
        try:
            self.routing()
        except InvalidSettings as exc:
            raise ValueError(f"FD_HANDOFF_HOURS: {exc}") from exc
        return self

    def business_hours(self) -> BusinessHours | None:
        match = _SPAN.match(self.hours)
        if match is None:
            return None
        first, last = _DAYS.match(self.days).groups()  # type: ignore[union-attr]  # checked by _days
        days = range(int(first), int(last or first) + 1)
        span = (match.group(1), match.group(2))
        return BusinessHours(timezone=self.timezone, weekly={day: (span,) for day in days})

    def routing(self) -> RoutingSettings:
        """The settings of `HandoffService`."""
        return RoutingSettings(
            unanswered_timeout_s=self.unanswered_timeout_s,
            wrap_up_timeout_s=self.wrap_up_timeout_s,
            business_hours=self.business_hours(),
            assign_on_enqueue=self.auto_assign,
        )

    def policy(self) -> HandoffSettings:
        """The thresholds of `HandoffPolicy`; the rest keep their defaults."""
        return HandoffSettings(
            nlu_confidence_threshold=self.nlu_confidence_threshold,
            not_found_limit=self.not_found_limit,
            kb_no_match_confidence=self.kb_no_match_confidence or None,
        )
