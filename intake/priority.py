"""The one priority and SLA policy: priority from category, urgency, customer tier and keywords; deadlines from
configurable targets, counted in business time when business hours are configured.

Owns `PriorityPolicy` and `add_business_time`. Must never store anything or read the clock itself: callers pass
"now" in, so the same ticket always gets the same deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from intake.exceptions import InvalidSettings
from intake.models import Category, Priority, Urgency
from intake.settings import BusinessHours, IntakeSettings

_URGENCY_PRIORITY = {Urgency.URGENT: Priority.URGENT, Urgency.HIGH: Priority.HIGH, Urgency.NORMAL: Priority.NORMAL}
# Enough to cross a year of holidays; a calendar with no open hour at all is rejected before this.
_MAX_DAYS_SCANNED = 800


@dataclass(frozen=True)
class PriorityDecision:
    priority: Priority
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class SlaDeadlines:
    first_response_due: float
    resolution_due: float


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    if minute >= 1440:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)


def add_business_time(start: float, hours: float, hours_spec: BusinessHours) -> float:
    """`start` (epoch seconds) plus `hours` of open time: closed time, weekends and holidays do not count.

    Durations are measured in real (UTC) seconds, so a DST change inside opening hours is counted as it happened.
    """
    tz = ZoneInfo(hours_spec.timezone)
    remaining = hours * 3600.0
    day = datetime.fromtimestamp(start, tz).date()
    for _ in range(_MAX_DAYS_SCANNED):
        if day not in hours_spec.holidays:
            for open_minute, close_minute in hours_spec.weekly.get(day.weekday(), ()):
                segment_start = max(_local(day, open_minute, tz).timestamp(), start)
                segment_end = _local(day, close_minute, tz).timestamp()
                if segment_start >= segment_end:
                    continue
                available = segment_end - segment_start
                if remaining <= available:
                    return segment_start + remaining
                remaining -= available
        day += timedelta(days=1)
    raise InvalidSettings("business hours leave no open time in the scanned period")


class PriorityPolicy:
    """Priority rules, in order (each reason is recorded):

    1. urgency sets the base (urgent/high/normal); no urgency means normal;
    2. categories in `low_categories` (suggestions) drop a normal base to low;
    3. `category_floor` raises a category to at least its floor (complaints are at least high);
    4. the customer's tier raises by `tier_bumps[tier]` levels, but never above `tier_bump_cap`
       (a VIP's question does not become a safety incident);
    5. `keyword_priorities` raise to at least the keyword's priority (e.g. 'lawyer' -> high).
    """

    def __init__(self, settings: IntakeSettings) -> None:
        self._settings = settings

    @property
    def settings(self) -> IntakeSettings:
        return self._settings

    def decide(
        self,
        category: Category | None,
        urgency: Urgency | None,
        tier: str = "standard",
        text: str = "",
    ) -> PriorityDecision:
        s = self._settings
        priority = _URGENCY_PRIORITY[urgency] if urgency else Priority.NORMAL
        reasons = [f"urgency:{urgency.value if urgency else 'none'}->{priority.value}"]
        if category in s.low_categories and priority is Priority.NORMAL:
            priority = Priority.LOW
            reasons.append(f"category:{category.value}->low")
        floor = s.category_floor.get(category) if category else None
        if floor and floor.urgency > priority.urgency:
            priority = floor
            reasons.append(f"category_floor:{category.value if category else ''}->{floor.value}")
        bump = s.tier_bumps.get(tier.lower(), 0)
        if bump and priority.urgency < s.tier_bump_cap.urgency:
            priority = Priority.from_urgency(min(priority.urgency + bump, s.tier_bump_cap.urgency))
            reasons.append(f"tier:{tier}->{priority.value}")
        lowered = text.lower()
        for keyword, keyword_priority in s.keyword_priorities.items():
            if keyword.lower() in lowered and keyword_priority.urgency > priority.urgency:
                priority = keyword_priority
                reasons.append(f"keyword:{keyword}->{priority.value}")
        return PriorityDecision(priority, tuple(reasons))

    def deadlines(self, priority: Priority, now: float) -> SlaDeadlines:
        target = self._settings.sla_targets[priority]
        hours_spec = self._settings.business_hours
        if hours_spec is None or priority in self._settings.round_the_clock_priorities:
            return SlaDeadlines(now + target.first_response_hours * 3600.0, now + target.resolution_hours * 3600.0)
        return SlaDeadlines(
            add_business_time(now, target.first_response_hours, hours_spec),
            add_business_time(now, target.resolution_hours, hours_spec),
        )

    def is_handoff_worthy(self, category: Category | None, priority: Priority) -> str | None:
        """The contract's reason code when a new ticket should go to a human now, else None."""
        if priority in self._settings.handoff_priorities:
            return "urgent_category"
        if category in self._settings.complaint_categories:
            return "complaint"
        return None


def format_deadline(epoch: float, timezone: str = "UTC") -> str:
    """'2024-05-06 14:00 CST'-style text for customers and agents."""
    moment = datetime.fromtimestamp(epoch, UTC).astimezone(ZoneInfo(timezone))
    return moment.strftime("%Y-%m-%d %H:%M %Z")
