"""The one priority policy: priority from category, urgency, customer tier and keywords; a ticket's deadlines come
from the SLA policy (`intake.sla`), counted on the business calendar (`intake.calendar`).

Owns `PriorityPolicy`. Must never store anything or read the clock itself: callers pass "now" in, so the same
ticket always gets the same deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from intake.models import Category, Priority, Urgency
from intake.settings import IntakeSettings
from intake.sla import SlaDeadlines, SlaPolicy

_URGENCY_PRIORITY = {Urgency.URGENT: Priority.URGENT, Urgency.HIGH: Priority.HIGH, Urgency.NORMAL: Priority.NORMAL}


@dataclass(frozen=True)
class PriorityDecision:
    priority: Priority
    reasons: tuple[str, ...]


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
        self._sla = settings.sla_policy()

    @property
    def settings(self) -> IntakeSettings:
        return self._settings

    @property
    def sla(self) -> SlaPolicy:
        return self._sla

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
        """A new ticket's due times: `now` plus the priority's targets in business time."""
        return self._sla.deadlines(priority, now)

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
