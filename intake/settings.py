"""Intake settings: order-number format, ticket numbering, priority rules, SLA targets, and the business calendar.

Owns `IntakeSettings` (built once, passed down), `IntakeConfig` (the `FD_INTAKE_*` variables, composed into the
front door's settings as `Settings.intake`), `CalendarConfig` (the `FD_CALENDAR_*` variables, `Settings.calendar`:
the one reader of the business-time variables that tickets, the console's countdown and the agents' opening hours
share), `FollowUpConfig` (the `FD_FOLLOW_UP_*` variables, `Settings.follow_up`: the follow-up after resolution) and
the parsing of their textual forms. Must never read `os.environ` itself: the process entry point builds
the front door's settings once, and `IntakeConfig.intake_settings(CalendarConfig.calendar())` derives the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from backends.settings import EnvSettings
from intake.calendar import BusinessCalendar, WeeklyHours, day_rules
from intake.exceptions import InvalidSettings
from intake.models import Category, Priority
from intake.sla import DEFAULT_AT_RISK_SHARE, DEFAULT_SLA_TARGETS, SlaPolicy, SlaTarget

DEFAULT_ORDER_NUMBER_PATTERN = r"\d{10,20}"
DEFAULT_CALENDAR_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class IntakeSettings:
    order_number_pattern: str = DEFAULT_ORDER_NUMBER_PATTERN
    ticket_prefix: str = "FD"
    ticket_digits: int = 6
    sla_targets: Mapping[Priority, SlaTarget] = field(default_factory=lambda: dict(DEFAULT_SLA_TARGETS))
    sla_at_risk_share: float = DEFAULT_AT_RISK_SHARE
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)  # round the clock unless hours are set
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
        self.sla_policy()  # rejects a bad at-risk share now, not at the first ticket

    def sla_policy(self) -> SlaPolicy:
        return SlaPolicy(
            self.sla_targets,
            self.calendar,
            at_risk_share=self.sla_at_risk_share,
            round_the_clock=self.round_the_clock_priorities,
        )


# ----- the environment's textual forms, as pydantic validators -----
def _checked(parse: Any) -> Any:
    """An after-validator that runs `parse(value)` on a non-empty value and reports InvalidSettings as a bad value."""

    def check(value: str) -> str:
        if value:
            try:
                parse(value)
            except InvalidSettings as exc:
                raise ValueError(str(exc)) from exc
        return value

    return check


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


def _sla_target(value: Any) -> Any:
    """`"4/24"` or `"4/24/2"` -> SlaTarget(4, 24[, 2]); other values pass through (a pydantic before-validator)."""
    if not isinstance(value, str):
        return value
    try:
        return SlaTarget.parse(value)
    except InvalidSettings as exc:
        raise ValueError(str(exc)) from exc


_HANDOFF_SPAN = re.compile(r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$")
_HANDOFF_DAYS = re.compile(r"^\s*([0-6])\s*(?:-\s*([0-6]))?\s*$")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _handoff_span(value: str) -> str:
    if value and not _HANDOFF_SPAN.match(value):
        raise ValueError("wants opening hours as HH:MM-HH:MM, e.g. 09:00-18:00")
    return value


def _handoff_days(value: str) -> str:
    if not _HANDOFF_DAYS.match(value):
        raise ValueError("wants a weekday range such as 0-4 (0 = Monday, 6 = Sunday)")
    return value


Sla = Annotated[SlaTarget, BeforeValidator(_sla_target)]
Hours = Annotated[str, AfterValidator(_checked(WeeklyHours.parse))]
TimeZone = Annotated[str, AfterValidator(_timezone)]
_DEPRECATED = "Deprecated (read only when `FD_CALENDAR_HOURS` is empty):"


class CalendarConfig(EnvSettings):
    """The `FD_CALENDAR_*` variables: the one business calendar of tickets' SLA, the console and opening hours."""

    model_config = EnvSettings.config("FD_CALENDAR_")
    doc_title = "Business calendar (`intake/settings.py`)"

    hours: Hours = Field(
        "",
        description="Business hours for SLA due times and the agents' opening hours (outside them a customer gets a "
        "ticket and a promise, not a wait), e.g. `Mon-Fri 09:00-12:00,13:30-18:00; Sat 10:00-16:00` (a gap is a "
        "break; days may be left out: `09:00-18:00` is every day).",
        json_schema_extra={"doc_default": "(empty: open 24/7)"},
    )
    timezone: TimeZone = Field(
        DEFAULT_CALENDAR_TIMEZONE, description="Time zone of the hours; also the zone deadlines are shown in."
    )
    holidays: Annotated[str, AfterValidator(_checked(day_rules))] = Field(
        "cn",
        description="`cn` (China's public holidays and make-up working days, 调休, from `chinese-calendar`: "
        "2004–2026), `none`, or a CSV file of `date,holiday|workday[,note]` rows; join several with `+` (later ones "
        "win), e.g. `cn+/etc/frontdoor/holidays.csv`. Only matters when hours are set.",
    )
    # The variables the calendar replaced; their time zone defaults to UTC, as it did.
    intake_business_hours: Hours = Field(
        "",
        validation_alias="FD_INTAKE_BUSINESS_HOURS",
        description=f"{_DEPRECATED} opening hours in the form of `FD_CALENDAR_HOURS`.",
    )
    intake_business_tz: TimeZone = Field(
        "UTC",
        validation_alias="FD_INTAKE_BUSINESS_TZ",
        description=f"{_DEPRECATED} the time zone of `FD_INTAKE_BUSINESS_HOURS` unless `FD_CALENDAR_TIMEZONE` is set.",
    )
    handoff_hours: Annotated[str, AfterValidator(_handoff_span)] = Field(
        "",
        validation_alias="FD_HANDOFF_HOURS",
        description=f"{_DEPRECATED} agents' opening hours `HH:MM-HH:MM` on the days of `FD_HANDOFF_DAYS`.",
    )
    handoff_days: Annotated[str, AfterValidator(_handoff_days)] = Field(
        "0-4", validation_alias="FD_HANDOFF_DAYS", description=f"{_DEPRECATED} open weekdays (0 = Monday)."
    )
    handoff_timezone: TimeZone = Field(
        "UTC",
        validation_alias="FD_HANDOFF_TIMEZONE",
        description=f"{_DEPRECATED} the time zone of `FD_HANDOFF_HOURS` unless `FD_CALENDAR_TIMEZONE` is set.",
    )

    @model_validator(mode="after")
    def _hours_make_sense(self) -> CalendarConfig:
        # The new variables' hours are checked whole by their fields; the old handoff ones only once put together.
        try:
            self.weekly_hours()
        except InvalidSettings as exc:
            raise ValueError(f"FD_HANDOFF_HOURS: {exc} (with FD_HANDOFF_DAYS={self.handoff_days})") from exc
        return self

    def weekly_hours(self) -> tuple[WeeklyHours | None, str]:
        """The week's opening hours (None: round the clock) and their time zone, the deprecated variables included."""
        zone = self.timezone if "timezone" in self.model_fields_set else ""
        if self.hours:
            return WeeklyHours.parse(self.hours), zone or DEFAULT_CALENDAR_TIMEZONE
        if self.intake_business_hours:
            return WeeklyHours.parse(self.intake_business_hours), zone or self.intake_business_tz
        if self.handoff_hours:
            first, last = _HANDOFF_DAYS.match(self.handoff_days).groups()  # type: ignore[union-attr]  # validated
            days = f"{_WEEKDAYS[int(first)]}-{_WEEKDAYS[int(last or first)]}"
            return WeeklyHours.parse(f"{days} {self.handoff_hours}"), zone or self.handoff_timezone
        return None, zone or DEFAULT_CALENDAR_TIMEZONE

    def calendar(self) -> BusinessCalendar:
        """The business calendar; build it once and hand it to everything that counts business time."""
        hours, zone = self.weekly_hours()
        return BusinessCalendar(zone, hours, day_rules(self.holidays))


class IntakeConfig(EnvSettings):
    """The issue intake's `FD_INTAKE_*` variables: the order system, ticket numbers and SLA targets."""

    model_config = EnvSettings.config("FD_INTAKE_")
    doc_title = "Issue intake (`intake/settings.py`)"

    order_pattern: Annotated[str, AfterValidator(_pattern)] = Field(
        DEFAULT_ORDER_NUMBER_PATTERN, description="Order-number format (a regular expression)."
    )
    order_api_url: str = Field(
        "",
        pattern=r"^(https?://.+)?$",
        description="Base URL of the shop's order system (`GET {url}/orders/{number}` and "
        "`GET {url}/orders?customer_id=…&email=…&phone=…`, see `intake/orders.py: HttpOrderLookup`); empty: order "
        "numbers are checked by format only (or against the demo orders, see `FD_INTAKE_DEMO_ORDERS`). "
        "`frontdoor run` points it at a demo order service on loopback unless it is set.",
    )
    order_api_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for the order system.")
    order_api_token: str = Field("", description="Bearer token sent to the order system, if it wants one.")
    demo_orders: bool = Field(
        False,
        description="Look orders up in the built-in demo order set in process, instead of an order system; never in "
        "production (`frontdoor run` uses the demo order service over HTTP instead, unless this is set).",
    )
    ticket_prefix: Annotated[str, AfterValidator(str.upper)] = Field(
        "FD", pattern=r"^[A-Za-z][A-Za-z0-9]{0,9}$", description="Ticket number prefix (`FD-000123`)."
    )
    sla_urgent: Sla = Field(
        DEFAULT_SLA_TARGETS[Priority.URGENT],
        description="Urgent priority: first-response / resolution targets in business hours, optionally "
        "`/next-reply` (default: the first-response target). Tickets, the console's chat countdown and the "
        "supervisor's at-risk list all use them.",
    )
    sla_high: Sla = Field(DEFAULT_SLA_TARGETS[Priority.HIGH], description="High priority: the same.")
    sla_normal: Sla = Field(DEFAULT_SLA_TARGETS[Priority.NORMAL], description="Normal priority: the same.")
    sla_low: Sla = Field(DEFAULT_SLA_TARGETS[Priority.LOW], description="Low priority: the same.")
    sla_at_risk: float = Field(
        DEFAULT_AT_RISK_SHARE,
        gt=0,
        le=1,
        description='Share of a target (in business time) after which a clock is "at risk": a ticket\'s (its '
        "assignee and team lead are alerted, the workspace's at-risk view lists it) and a waiting chat's (the "
        "supervisor's list).",
    )
    max_reasks: int = Field(
        2, ge=0, description="Times a form slot is re-asked after bad answers before the conversation goes to a human."
    )

    @model_validator(mode="after")
    def _one_order_source(self) -> IntakeConfig:
        if self.demo_orders and self.order_api_url:
            raise ValueError("set FD_INTAKE_ORDER_API_URL or FD_INTAKE_DEMO_ORDERS, not both")
        return self

    def intake_settings(self, calendar: BusinessCalendar | None = None) -> IntakeSettings:
        """The policy's settings on `calendar` (the front door's one business calendar; round the clock in UTC when
        not given); everything the environment does not name keeps its default."""
        return IntakeSettings(
            order_number_pattern=self.order_pattern,
            ticket_prefix=self.ticket_prefix,
            sla_targets={
                Priority.URGENT: self.sla_urgent,
                Priority.HIGH: self.sla_high,
                Priority.NORMAL: self.sla_normal,
                Priority.LOW: self.sla_low,
            },
            sla_at_risk_share=self.sla_at_risk,
            calendar=calendar if calendar is not None else BusinessCalendar(),
            max_slot_reasks=self.max_reasks,
        )


class FollowUpConfig(EnvSettings):
    """The `FD_FOLLOW_UP_*` variables: when a resolved ticket's customer is asked whether the problem is solved."""

    model_config = EnvSettings.config("FD_FOLLOW_UP_")
    doc_title = "Follow-up after resolution (`intake/settings.py`)"

    enabled: bool = Field(True, description="Ask each resolved ticket's customer whether the problem is solved.")
    delay_s: float = Field(
        3600.0,
        ge=0,
        description="Seconds after a ticket is resolved before its customer is asked whether the problem is solved "
        "and how satisfied they are (sooner when the channel's window, WeChat's 48 hours, would close first).",
    )
    reminder_s: float = Field(
        86400.0,
        ge=0,
        description="Seconds after an unanswered question before its one reminder (sooner when the channel's window "
        "would close first; `0`: no reminder).",
    )
    check_s: float = Field(
        60.0, gt=0, description="How often the follow-up pass looks for questions and reminders due."
    )
