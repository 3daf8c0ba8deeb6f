"""Intake settings: order-number format, ticket numbering, priority rules, SLA targets and business hours.

Owns `IntakeSettings` (built once, passed down) and the parsing of its textual forms. Must never read
`os.environ` itself: `IntakeSettings.from_mapping(os.environ)` is called by whoever builds the app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.exceptions import InvalidSettings
from intake.models import Category, Priority

DEFAULT_ORDER_NUMBER_PATTERN = r"\d{10,20}"

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC_PART = re.compile(r"^\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class SlaTarget:
    first_response_hours: float
    resolution_hours: float


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
    order_api_base_url: str = ""  # empty: the built-in demo order set
    order_api_timeout_s: float = 5.0
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

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> IntakeSettings:
        """Build from `FD_INTAKE_*` variables; anything absent keeps its default.

        FD_INTAKE_ORDER_PATTERN, FD_INTAKE_ORDER_API_URL, FD_INTAKE_TICKET_PREFIX,
        FD_INTAKE_SLA_<PRIORITY>="first_hours/resolution_hours", FD_INTAKE_BUSINESS_TZ + FD_INTAKE_BUSINESS_HOURS,
        FD_INTAKE_MAX_REASKS.
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
                    first, resolution = (float(x) for x in raw.split("/"))
                except ValueError as exc:
                    raise InvalidSettings(f"FD_INTAKE_SLA_{priority.value.upper()} wants 'hours/hours'") from exc
                targets[priority] = SlaTarget(first, resolution)
        changes["sla_targets"] = targets
        if env.get("FD_INTAKE_BUSINESS_HOURS"):
            changes["business_hours"] = BusinessHours.parse(
                env.get("FD_INTAKE_BUSINESS_TZ", "UTC"), env["FD_INTAKE_BUSINESS_HOURS"]
            )
        return replace(settings, **changes)  # type: ignore[arg-type]
