"""Intake settings: order-number format, ticket numbering, priority rules, SLA targets and business hours.

Owns `IntakeSettings` (built once, passed down), `IntakeConfig` (the `FD_INTAKE_*` variables, composed into the
front door's settings as `Settings.intake`) and the parsing of their textual forms. Must never read `os.environ`
itself: the process entry point builds `IntakeConfig.from_env(os.environ)` once and `intake_settings()` derives
the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from backends.settings import EnvSettings
from intake.exceptions import InvalidSettings
from intake.models import Category, Priority

DEFAULT_ORDER_NUMBER_PATTERN = r"\d{10,20}"

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC_PART = re.compile(r"^\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class SlaTarget:
    first_response_hours: float
    resolution_hours: float

    def __str__(self) -> str:
        """As the environment spells it: `4/24`."""
        return f"{self.first_response_hours:g}/{self.resolution_hours:g}"

    @classmethod
    def parse(cls, value: Any) -> Any:
        """`"4/24"` -> SlaTarget(4, 24); other values pass through (a pydantic before-validator)."""
        if not isinstance(value, str):
            return value
        try:
            first, resolution = (float(x) for x in value.split("/"))
        except ValueError as exc:
            raise ValueError("wants first-response/resolution hours, e.g. 4/24") from exc
        if not 0 < first <= resolution:
            raise ValueError("wants 0 < first-response hours <= resolution hours")
        return cls(first, resolution)


DEFAULT_SLA_TARGETS: Mapping[Priority, SlaTarget] = {
    Priority.URGENT: SlaTarget(1, 4),
    Priority.HIGH: SlaTarget(4, 24),
    Priority.NORMAL: SlaTarget(24, 72),
    Priority.LOW: SlaTarget(72, 168),
}


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours in one timezone: weekday (0 = Monday) -> (open_minute, close_minute) intervals.

    close_minute may be 1440 (midnight at the end of the day). Holidays are local dates with no open hours.
    """

    timezone: str
    weekly: Mapping[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidSettings(f"unknown timezone {self.timezone!r}") from exc
        if not any(self.weekly.get(day) for day in range(7)):
            raise InvalidSettings("business hours have no open interval in the week")
        for day, intervals in self.weekly.items():
            if day not in range(7):
                raise InvalidSettings(f"weekday {day} is not 0..6")
            for start, end in intervals:
                if not 0 <= start < end <= 1440:
                    raise InvalidSettings(f"bad interval {start}-{end} on weekday {day}")

    @classmethod
    def parse(cls, timezone: str, spec: str, holidays: frozenset[date] = frozenset()) -> BusinessHours:
        """`"Mon-Fri 09:00-18:00; Sat 10:00-14:00"`; several parts may name the same day (split shifts)."""
        weekly: dict[int, list[tuple[int, int]]] = {}
        for part in filter(None, (p.strip() for p in spec.lower().split(";"))):
            match = _SPEC_PART.match(part)
            if not match or match.group(1) not in _DAYS or (match.group(2) and match.group(2) not in _DAYS):
                raise InvalidSettings(f"cannot read business hours {part!r} (want e.g. 'Mon-Fri 09:00-18:00')")
            first = _DAYS.index(match.group(1))
            last = _DAYS.index(match.group(2)) if match.group(2) else first
            start = int(match.group(3)) * 60 + int(match.group(4))
            end = int(match.group(5)) * 60 + int(match.group(6))
            day = first
            while True:
                weekly.setdefault(day, []).append((start, end))
                if day == last:
                    break
                day = (day + 1) % 7
        return cls(timezone, {d: tuple(sorted(v)) for d, v in weekly.items()}, holidays)


@dataclass(frozen=True)
class IntakeSettings:
    order_number_pattern: str = DEFAULT_ORDER_NUMBER_PATTERN
    ticket_prefix: str = "FD"
    ticket_digits: int = 6
    sla_targets: Mapping[Priority, SlaTarget] = field(default_factory=lambda: dict(DEFAULT_SLA_TARGETS))
    business_hours: BusinessHours | None = None
    # Priorities whose deadlines run round the clock even when business hours are configured (e.g. safety issues).
    round_the_clock_priorities: frozenset[Priority] = frozenset()
    # Priority rules, see intake.priority.PriorityPolicy.
    category_floor: Mapping[Category, Priority] = field(
        default_factory=lambda: {Category.SERVICE_COMPLAINT: Priority.HIGH}
    )
    low_categories: frozenset[Category] = frozenset({Category.SUGGESTION})
    tier_bumps: Mapping[str, int] = field(default_factory=lambda: {"vip": 1, "gold": 1})
    tier_bump_cap: Priority = Priority.HIGH
    keyword_priorities: Mapping[str, Priority] = field(
        default_factory=lambda: {
            "lawyer": Priority.HIGH,
            "legal action": Priority.HIGH,
            "consumer protection": Priority.HIGH,
            "律师": Priority.HIGH,
            "起诉": Priority.HIGH,
            "消协": Priority.HIGH,
            "12315": Priority.HIGH,
        }
    )
    # Which outcomes make the bot hand the new ticket to a human straight away.
    complaint_categories: frozenset[Category] = frozenset({Category.SERVICE_COMPLAINT})
    handoff_priorities: frozenset[Priority] = frozenset({Priority.URGENT})
    # Form behaviour: a slot may be re-asked this many times after bad answers, then the form gives up.
    max_slot_reasks: int = 2
    max_description_chars: int = 1000
    max_short_answer_chars: int = 120

    def __post_init__(self) -> None:
        try:
            re.compile(self.order_number_pattern)
        except re.error as exc:
            raise InvalidSettings(f"bad order number pattern: {exc}") from exc
        missing = [p.value for p in Priority if p not in self.sla_targets]
        if missing:
            raise InvalidSettings(f"SLA targets missing for {missing}")
        if self.max_slot_reasks < 0 or self.ticket_digits < 1:
            raise InvalidSettings("max_slot_reasks must be >= 0 and ticket_digits >= 1")


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from exc
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone (want e.g. Asia/Shanghai)") from exc
    return value


def _hours(value: str) -> str:
    if value:
        try:
            BusinessHours.parse("UTC", value)
        except InvalidSettings as exc:
            raise ValueError(str(exc)) from exc
    return value


Sla = Annotated[SlaTarget, BeforeValidator(SlaTarget.parse)]


class IntakeConfig(EnvSettings):
    """The issue intake's `FD_INTAKE_*` variables: the order system, ticket numbers, SLA targets, business hours."""

    model_config = EnvSettings.config("FD_INTAKE_")
    doc_title = "Issue intake (`intake/settings.py`)"

    order_pattern: Annotated[str, AfterValidator(_pattern)] = Field(
        DEFAULT_ORDER_NUMBER_PATTERN, description="Order-number format (a regular expression)."
    )
    order_api_url: str = Field(
        "",
        pattern=r"^(https?://.+)?$",
        description="Base URL of the shop's order system (`GET {url}/orders/{number}`); empty: order numbers are "
        "checked by format only (or against the demo orders, see `FD_INTAKE_DEMO_ORDERS`).",
    )
    order_api_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for the order system.")
    order_api_token: str = Field("", description="Bearer token sent to the order system, if it wants one.")
    demo_orders: bool = Field(
        False,
        description="Look orders up in the built-in demo order set (`frontdoor run` turns it on); never in production.",
    )
    ticket_prefix: Annotated[str, AfterValidator(str.upper)] = Field(
        "FD", pattern=r"^[A-Za-z][A-Za-z0-9]{0,9}$", description="Ticket number prefix (`FD-000123`)."
    )
    sla_urgent: Sla = Field(
        DEFAULT_SLA_TARGETS[Priority.URGENT], description="Urgent tickets: first-response / resolution hours."
    )
    sla_high: Sla = Field(DEFAULT_SLA_TARGETS[Priority.HIGH], description="High priority: the same.")
    sla_normal: Sla = Field(DEFAULT_SLA_TARGETS[Priority.NORMAL], description="Normal priority: the same.")
    sla_low: Sla = Field(DEFAULT_SLA_TARGETS[Priority.LOW], description="Low priority: the same.")
    business_tz: Annotated[str, AfterValidator(_timezone)] = Field(
        "UTC", description="Time zone of `FD_INTAKE_BUSINESS_HOURS`, e.g. `Asia/Shanghai`."
    )
    business_hours: Annotated[str, AfterValidator(_hours)] = Field(
        "",
        description="e.g. `Mon-Fri 09:00-18:00; Sat 10:00-14:00`: deadlines count business time only.",
        json_schema_extra={"doc_default": "(empty: 24/7)"},
    )
    max_reasks: int = Field(
        2, ge=0, description="Times a form slot is re-asked after bad answers before the conversation goes to a human."
    )

    @model_validator(mode="after")
    def _one_order_source(self) -> IntakeConfig:
        if self.demo_orders and self.order_api_url:
            raise ValueError("set FD_INTAKE_ORDER_API_URL or FD_INTAKE_DEMO_ORDERS, not both")
        return self

    def intake_settings(self) -> IntakeSettings:
        """The policy's settings; everything the environment does not name keeps its default."""
        return IntakeSettings(
            order_number_pattern=self.order_pattern,
            ticket_prefix=self.ticket_prefix,
            sla_targets={
                Priority.URGENT: self.sla_urgent,
                Priority.HIGH: self.sla_high,
                Priority.NORMAL: self.sla_normal,
                Priority.LOW: self.sla_low,
            },
            business_hours=BusinessHours.parse(self.business_tz, self.business_hours) if self.business_hours else None,
            max_slot_reasks=self.max_reasks,
        )
