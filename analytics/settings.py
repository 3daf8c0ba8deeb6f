"""The analytics' environment variables: the business time zone of day buckets and the projector's cadence.

Owns `AnalyticsConfig` (the `FD_ANALYTICS_*` variables, composed into the front door's settings as
`Settings.analytics`). Must never read the environment itself: the process entry point builds it once.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field

from analytics.breaches import WINDOW_DAYS
from analytics.facts import Clocks
from analytics.projector import Projector
from backends.settings import EnvSettings
from backends.sql import Database
from intake.calendar import BusinessCalendar

DEFAULT_TIMEZONE = "Asia/Shanghai"
PROJECT_S = 60.0
LAG_S = 900.0
TARGET_CHECK_S = 300.0


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from exc
    return value


class AnalyticsConfig(EnvSettings):
    """The `FD_ANALYTICS_*` variables."""

    model_config = EnvSettings.config("FD_ANALYTICS_")
    doc_title = "Analytics (`analytics/settings.py`)"

    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        DEFAULT_TIMEZONE,
        description="Business time zone of the reports' day buckets and date ranges (never UTC unless set so). "
        "After a change run `frontdoor analytics rebuild`: the facts keep their day.",
    )
    project_s: float = Field(
        PROJECT_S,
        ge=0,
        description="Seconds between passes of the analytics projector, which folds new service-record events into "
        "the facts tables the reports read. One replica at a time runs a pass; `0`: this replica never does.",
    )
    lag_s: float = Field(
        LAG_S,
        ge=0,
        description="How far back before its cursor each projector pass looks again, for events that reached the "
        "record late (buffered by a replica while the database was away). Older stragglers need a rebuild.",
    )

    target_window_days: int = Field(
        WINDOW_DAYS,
        ge=1,
        le=92,
        description="Days (business days in the time zone above, ending today) over which the KPI targets are "
        "measured for breach alerts: a supervisor hears once per target and day it is missed over this window.",
    )
    target_check_s: float = Field(
        TARGET_CHECK_S,
        ge=0,
        description="Seconds between checks of the KPI targets, on one replica at a time; `0`: this replica never "
        "checks.",
    )
    alert_webhook_url: str = Field(
        "",
        description="Optional URL that each KPI breach is POSTed to as JSON (a chat bot's incoming webhook); failures "
        "are logged, never retried. Empty: breaches go to the supervisors' alerts only.",
    )

    def clocks(self, calendar: BusinessCalendar) -> Clocks:
        """Day buckets in this time zone, business time on `calendar` (the SLA engine's, built once by the app)."""
        return Clocks(self.timezone, calendar)

    def projector(self, db: Database, calendar: BusinessCalendar) -> Projector:
        return Projector(db, self.clocks(calendar), lag_s=self.lag_s)
