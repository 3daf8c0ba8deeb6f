"""The one SLA policy: targets per priority, due times counted on the business calendar, and the at-risk rule.

Owns `SlaTarget`, `SlaPolicy` and `SlaDeadlines`. Tickets take their due times from here when they are written, a
handed-off chat takes its first-response due time from here when it is queued, and the supervisor's at-risk list
asks `is_at_risk` here: one deadline everywhere. Must never read the clock, store anything or know about chats or
tickets: callers pass the start instant in and keep what comes out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from intake.calendar import BusinessCalendar
from intake.exceptions import InvalidSettings
from intake.models import Priority

DEFAULT_AT_RISK_SHARE = 0.8  # a clock is at risk once this share of its target (in business time) has passed


class SlaMetric(StrEnum):
    FIRST_RESPONSE = "first_response"  # from creation (a ticket) or handoff (a chat) to the first staff reply
    NEXT_REPLY = "next_reply"  # from a customer's message to the next staff reply
    RESOLUTION = "resolution"  # from creation to resolved


@dataclass(frozen=True)
class SlaTarget:
    """Targets in business hours. The next-reply target defaults to the first-response one."""

    first_response_hours: float
    resolution_hours: float
    next_reply_hours: float | None = None

    def __post_init__(self) -> None:
        hours = (self.first_response_hours, self.resolution_hours, self.next_reply_hours)
        if any(h is not None and h <= 0 for h in hours):
            raise InvalidSettings(f"SLA targets must be positive: {self!r}")

    def __str__(self) -> str:
        """As the environment spells it (`FD_INTAKE_SLA_*`): `4/24`, or `4/24/2` with a next-reply target."""
        hours = (self.first_response_hours, self.resolution_hours, self.next_reply_hours)
        return "/".join(f"{h:g}" for h in hours if h is not None)

    @classmethod
    def parse(cls, text: str) -> SlaTarget:
        """`"4/24"` or `"4/24/2"` (first-response/resolution[/next-reply] business hours). Raises InvalidSettings,
        whose message says what the text wants."""
        try:
            hours = [float(x) for x in text.split("/")]
            if len(hours) not in (2, 3):
                raise ValueError(text)
            target = cls(hours[0], hours[1], hours[2] if len(hours) == 3 else None)
        except (ValueError, InvalidSettings) as exc:
            raise InvalidSettings(
                "wants positive first-response/resolution[/next-reply] hours, e.g. 4/24 or 4/24/2"
            ) from exc
        if target.first_response_hours > target.resolution_hours:
            raise InvalidSettings("wants first-response hours <= resolution hours")
        return target

    def hours(self, metric: SlaMetric) -> float:
        if metric is SlaMetric.FIRST_RESPONSE:
            return self.first_response_hours
        if metric is SlaMetric.RESOLUTION:
            return self.resolution_hours
        return self.next_reply_hours if self.next_reply_hours is not None else self.first_response_hours


DEFAULT_SLA_TARGETS: Mapping[Priority, SlaTarget] = {
    Priority.URGENT: SlaTarget(1, 4),
    Priority.HIGH: SlaTarget(4, 24),
    Priority.NORMAL: SlaTarget(24, 72),
    Priority.LOW: SlaTarget(72, 168),
}


@dataclass(frozen=True)
class SlaDeadlines:
    """A ticket's due times in epoch seconds, the form the ticket table stores."""

    first_response_due: float
    resolution_due: float


_ROUND_THE_CLOCK = BusinessCalendar()


class SlaPolicy:
    """Due time = start + the priority's target, counted in business time on `calendar` (round the clock for the
    `round_the_clock` priorities). At risk = at least `at_risk_share` of the business time from start to due has
    passed (or the due time itself has), so an urgent 1-hour chat warns after 48 working minutes, not at once."""

    def __init__(
        self,
        targets: Mapping[Priority, SlaTarget] | None = None,
        calendar: BusinessCalendar | None = None,
        *,
        at_risk_share: float = DEFAULT_AT_RISK_SHARE,
        round_the_clock: frozenset[Priority] = frozenset(),
    ) -> None:
        self.targets = dict(DEFAULT_SLA_TARGETS if targets is None else targets)
        missing = [p.value for p in Priority if p not in self.targets]
        if missing:
            raise InvalidSettings(f"SLA targets missing for {missing}")
        if not 0 < at_risk_share <= 1:
            raise InvalidSettings(f"the SLA at-risk share must be in (0, 1], not {at_risk_share}")
        self.calendar = calendar or _ROUND_THE_CLOCK
        self.at_risk_share = at_risk_share
        self.round_the_clock = round_the_clock

    def with_targets(self, overrides: Mapping[Priority, SlaTarget]) -> SlaPolicy:
        """The same calendar and at-risk rule with some priorities' targets replaced (a team's own targets)."""
        if not overrides:
            return self
        return SlaPolicy(
            {**self.targets, **overrides},
            self.calendar,
            at_risk_share=self.at_risk_share,
            round_the_clock=self.round_the_clock,
        )

    def shifted(self, priority: Priority | str, due: float, paused_from: float, paused_until: float) -> float:
        """`due` (epoch s) moved later by the business time between `paused_from` and `paused_until`: a clock that
        was stopped while the ticket waited on the customer."""
        calendar = self.calendar_for(priority)
        paused = calendar.business_seconds_between(epoch_to_utc(paused_from), epoch_to_utc(paused_until))
        if paused <= 0:
            return due
        return calendar.add_business_time(epoch_to_utc(due), paused).timestamp()

    def calendar_for(self, priority: Priority | str) -> BusinessCalendar:
        return _ROUND_THE_CLOCK if Priority.parse(priority) in self.round_the_clock else self.calendar

    def target_s(self, priority: Priority | str, metric: SlaMetric) -> float:
        """The target in business seconds (unknown priorities count as normal, as everywhere)."""
        return self.targets[Priority.parse(priority)].hours(metric) * 3600.0

    def due(self, priority: Priority | str, metric: SlaMetric, start: dt.datetime) -> dt.datetime:
        return self.calendar_for(priority).add_business_time(start, self.target_s(priority, metric))

    def first_response_due(self, priority: Priority | str, start: dt.datetime) -> dt.datetime:
        return self.due(priority, SlaMetric.FIRST_RESPONSE, start)

    def next_reply_due(self, priority: Priority | str, customer_message_at: dt.datetime) -> dt.datetime:
        return self.due(priority, SlaMetric.NEXT_REPLY, customer_message_at)

    def resolution_due(self, priority: Priority | str, start: dt.datetime) -> dt.datetime:
        return self.due(priority, SlaMetric.RESOLUTION, start)

    def deadlines(self, priority: Priority, now: float) -> SlaDeadlines:
        """A new ticket's due times (epoch seconds in and out, as the ticket table keeps them)."""
        start = epoch_to_utc(now)
        return SlaDeadlines(
            self.first_response_due(priority, start).timestamp(), self.resolution_due(priority, start).timestamp()
        )

    def warning_at(self, priority: Priority | str, start: dt.datetime, due: dt.datetime) -> dt.datetime:
        """When a clock running from `start` to `due` becomes at risk. Taking `due` rather than recomputing it keeps
        a deadline that was stored (a ticket's, a chat's) authoritative even after the targets change."""
        calendar = self.calendar_for(priority)
        return calendar.add_business_time(start, self.at_risk_share * calendar.business_seconds_between(start, due))

    def warning_epoch(self, priority: Priority | str, start: float, due: float) -> float:
        """`warning_at` in epoch seconds, the form tickets store."""
        return self.warning_at(priority, epoch_to_utc(start), epoch_to_utc(due)).timestamp()

    def is_at_risk(self, priority: Priority | str, start: dt.datetime, due: dt.datetime, now: dt.datetime) -> bool:
        return now >= due or now >= self.warning_at(priority, start, due)


def epoch_to_utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)
