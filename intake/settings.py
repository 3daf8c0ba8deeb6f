"""Intake settings: order-number format, ticket numbering, priority rules, SLA targets, and the business calendar.

Owns `IntakeSettings` (built once, passed down) and the parsing of its textual forms, including
`calendar_from_mapping`, the one reader of the business-time variables (FD_CALENDAR_*) that tickets, the console's
countdown and the agents' opening hours share. Must never read `os.environ` itself:
`IntakeSettings.from_mapping(os.environ)` is called by whoever builds the app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from intake.calendar import BusinessCalendar, WeeklyHours, day_rules
from intake.exceptions import InvalidSettings
from intake.models import Category, Priority
from intake.sla import DEFAULT_AT_RISK_SHARE, DEFAULT_SLA_TARGETS, SlaPolicy, SlaTarget

DEFAULT_ORDER_NUMBER_PATTERN = r"\d{10,20}"


@dataclass(frozen=True)
class IntakeSettings:
    order_number_pattern: str = DEFAULT_ORDER_NUMBER_PATTERN
    order_api_base_url: str = ""  # empty: the built-in demo order set
    order_api_timeout_s: float = 5.0
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

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> IntakeSettings:
        """Build from `FD_INTAKE_*` variables; anything absent keeps its default.

        FD_INTAKE_ORDER_PATTERN, FD_INTAKE_ORDER_API_URL, FD_INTAKE_TICKET_PREFIX,
        FD_INTAKE_SLA_<PRIORITY>="first_hours/resolution_hours[/next_reply_hours]", FD_INTAKE_SLA_AT_RISK (share of
        a target, 0.8), FD_INTAKE_MAX_REASKS, and the business calendar (see `calendar_from_mapping`).
        """
        settings = cls()
        changes: dict[str, object] = {}
        if env.get("FD_INTAKE_ORDER_PATTERN"):
            changes["order_number_pattern"] = env["FD_INTAKE_ORDER_PATTERN"]
        if env.get("FD_INTAKE_ORDER_API_URL"):
            changes["order_api_base_url"] = env["FD_INTAKE_ORDER_API_URL"]
        if env.get("FD_INTAKE_TICKET_PREFIX"):
            changes["ticket_prefix"] = env["FD_INTAKE_TICKET_PREFIX"]
        if env.get("FD_INTAKE_MAX_REASKS"):
            changes["max_slot_reasks"] = int(env["FD_INTAKE_MAX_REASKS"])
        targets = dict(settings.sla_targets)
        for priority in Priority:
            raw = env.get(f"FD_INTAKE_SLA_{priority.value.upper()}")
            if raw:
                try:
                    hours = [float(x) for x in raw.split("/")]
                    if len(hours) not in (2, 3):
                        raise ValueError(raw)
                except ValueError as exc:
                    raise InvalidSettings(f"FD_INTAKE_SLA_{priority.value.upper()} wants 'hours/hours'") from exc
                targets[priority] = SlaTarget(hours[0], hours[1], hours[2] if len(hours) == 3 else None)
        changes["sla_targets"] = targets
        if env.get("FD_INTAKE_SLA_AT_RISK"):
            changes["sla_at_risk_share"] = float(env["FD_INTAKE_SLA_AT_RISK"])
        changes["calendar"] = calendar_from_mapping(env)
        return replace(settings, **changes)  # type: ignore[arg-type]


DEFAULT_CALENDAR_TIMEZONE = "Asia/Shanghai"
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def calendar_from_mapping(env: Mapping[str, str]) -> BusinessCalendar:
    """The business calendar from FD_CALENDAR_TIMEZONE (Asia/Shanghai), FD_CALENDAR_HOURS (empty: round the clock;
    e.g. "Mon-Fri 09:00-12:00,13:30-18:00; Sat 10:00-16:00") and FD_CALENDAR_HOLIDAYS ("cn", "none", a CSV path,
    or several joined by "+", later ones overriding; default "cn").

    Deprecated aliases, read only when FD_CALENDAR_HOURS is empty: FD_INTAKE_BUSINESS_HOURS + FD_INTAKE_BUSINESS_TZ,
    then FD_HANDOFF_HOURS ("09:00-18:00") + FD_HANDOFF_DAYS ("0-4", 0 = Monday) + FD_HANDOFF_TIMEZONE; their zone
    defaults to UTC, as it did.
    """
    spec, zone = env.get("FD_CALENDAR_HOURS", ""), env.get("FD_CALENDAR_TIMEZONE", "")
    if not spec and env.get("FD_INTAKE_BUSINESS_HOURS"):
        spec, zone = env["FD_INTAKE_BUSINESS_HOURS"], zone or env.get("FD_INTAKE_BUSINESS_TZ", "UTC")
    elif not spec and env.get("FD_HANDOFF_HOURS"):
        first, _, last = env.get("FD_HANDOFF_DAYS", "0-4").partition("-")
        try:
            days = f"{_WEEKDAYS[int(first)]}-{_WEEKDAYS[int(last or first)]}"
        except (ValueError, IndexError) as exc:
            raise InvalidSettings(f"FD_HANDOFF_DAYS wants e.g. '0-4', not {env['FD_HANDOFF_DAYS']!r}") from exc
        spec, zone = f"{days} {env['FD_HANDOFF_HOURS']}", zone or env.get("FD_HANDOFF_TIMEZONE", "UTC")
    return BusinessCalendar(
        zone or DEFAULT_CALENDAR_TIMEZONE,
        WeeklyHours.parse(spec) if spec else None,
        day_rules(env.get("FD_CALENDAR_HOLIDAYS", "cn")),
    )
