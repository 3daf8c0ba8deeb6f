"""The one business calendar: when the shop's team works, and how much working time lies between two instants.

Owns `BusinessCalendar` (Zammad's `Calendar`: `is_open`, `next_open`, `add_business_time`,
`business_seconds_between`) and the pieces it is made of, one small class per concern: `WeeklyHours` (the week,
with breaks), and the day rules that override it (`ChinaHolidays` from the `chinese-calendar` package: statutory
holidays and make-up working days, 调休; `FixedDays` from a file; `LayeredDays` stacking them). SLA deadlines and
the agents' opening hours both ask this one object, so a promise and a countdown can never disagree.

Every instant in and out is a tz-aware datetime, returned in UTC; the local time zone matters only for where a
working day starts and ends. Durations are real elapsed seconds, so a DST change inside opening hours counts as it
happened. Must never read the clock or the environment: callers pass "now", and settings build the calendar.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from intake.exceptions import InvalidSettings

UTC = dt.UTC
MINUTES_PER_DAY = 1440
# How far the calendar looks for open time: more than two years of holidays, and the answer to "no open hour at all".
HORIZON_DAYS = 800

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})"
_PART = re.compile(rf"^(?:([a-z]{{3}})(?:\s*-\s*([a-z]{{3}}))?\s+)?({_HHMM}(?:\s*,\s*{_HHMM})*)$")

Span = tuple[int, int]  # (open minute, close minute) of a local day; close may be 1440 (midnight at its end)


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # closed all day, whatever the week says
    WORKDAY = "workday"  # a make-up working day (调休): open with an ordinary working day's hours


class DayRules(Protocol):
    """Dates the weekly hours do not describe; None means an ordinary day."""

    def kind_of(self, day: dt.date) -> DayKind | None: ...


class ChinaHolidays:
    """China's public holidays and make-up working days, from `chinese-calendar` (2004..2026 in v1.11).

    A named holiday (National Day, Spring Festival, …) is closed even on a Saturday that the week would open; a
    Saturday or Sunday the State Council made a working day opens. Years the package does not know read as
    ordinary: extend them with a holidays file until the package is upgraded.
    """

    def kind_of(self, day: dt.date) -> DayKind | None:
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return None
        if on_holiday and name:
            return DayKind.HOLIDAY
        if not on_holiday and day.weekday() >= 5:
            return DayKind.WORKDAY
        return None


@dataclass(frozen=True)
class FixedDays:
    """Dates with a fixed kind: a company holiday, a year the package does not know yet, a correction."""

    days: Mapping[dt.date, DayKind]

    def kind_of(self, day: dt.date) -> DayKind | None:
        return self.days.get(day)

    @classmethod
    def load(cls, path: Path) -> FixedDays:
        """A CSV file of `date,kind[,note]` rows: `2025-10-01,holiday,National Day`, `2025-09-28,workday`.

        Blank lines and lines starting with `#` are skipped; a header row `date,kind,…` is allowed.
        """
        days: dict[dt.date, DayKind] = {}
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidSettings(f"cannot read holidays file {path}: {exc}") from exc
        for number, row in enumerate(csv.reader(text.splitlines()), start=1):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#") or row[0].strip().lower() == "date":
                continue
            try:
                days[dt.date.fromisoformat(row[0].strip())] = DayKind(row[1].strip().lower())
            except (ValueError, IndexError) as exc:
                raise InvalidSettings(f"{path}:{number}: want 'YYYY-MM-DD,holiday|workday', got {row!r}") from exc
        return cls(days)


@dataclass(frozen=True)
class LayeredDays:
    """Several day rules; a later layer overrides an earlier one (a file over China's calendar)."""

    layers: Sequence[DayRules]

    def kind_of(self, day: dt.date) -> DayKind | None:
        for layer in reversed(self.layers):
            kind = layer.kind_of(day)
            if kind is not None:
                return kind
        return None


@dataclass(frozen=True)
class WeeklyHours:
    """Opening hours of the week: weekday (0 = Monday) -> sorted (open, close) minute spans; a gap is a break."""

    weekly: Mapping[int, tuple[Span, ...]]

    def __post_init__(self) -> None:
        if not any(self.weekly.get(day) for day in range(7)):
            raise InvalidSettings("business hours have no open interval in the week")
        for day, spans in self.weekly.items():
            if day not in range(7):
                raise InvalidSettings(f"weekday {day} is not 0..6")
            for start, end in spans:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise InvalidSettings(f"bad interval {start}-{end} on weekday {day}")

    @classmethod
    def parse(cls, spec: str) -> WeeklyHours:
        """`"Mon-Fri 09:00-12:00,13:30-18:00; Sat 10:00-16:00"`. A day range may wrap (`Sat-Mon`); several parts may
        name the same day. A part with only times (`"09:00-18:00"`) means every day."""
        weekly: dict[int, list[Span]] = {}
        for part in filter(None, (p.strip() for p in spec.lower().split(";"))):
            match = _PART.match(part)
            first_name, last_name = match.group(1, 2) if match else (None, None)
            if not match or any(name and name not in _DAYS for name in (first_name, last_name)):
                raise InvalidSettings(f"cannot read business hours {part!r} (want e.g. 'Mon-Fri 09:00-18:00')")
            first = _DAYS.index(first_name) if first_name else 0
            last = _DAYS.index(last_name) if last_name else (first if first_name else 6)
            spans = []
            for chunk in match.group(3).split(","):
                times = re.match(_HHMM, chunk.strip())
                assert times is not None  # the whole part matched this pattern
                h1, m1, h2, m2 = (int(x) for x in times.groups())
                spans.append((h1 * 60 + m1, h2 * 60 + m2))
            day = first
            while True:
                weekly.setdefault(day, []).extend(spans)
                if day == last:
                    break
                day = (day + 1) % 7
        for day, day_spans in weekly.items():
            ordered = sorted(day_spans)
            if any(a[1] > b[0] for a, b in pairwise(ordered)):
                raise InvalidSettings(f"business hours overlap on {_DAYS[day]}: {spec!r}")
        return cls({d: tuple(sorted(v)) for d, v in weekly.items()})

    def spans(self, weekday: int) -> tuple[Span, ...]:
        return self.weekly.get(weekday, ())

    @property
    def workday_spans(self) -> tuple[Span, ...]:
        """What a make-up working day opens: the hours of the first of Monday..Friday that opens at all."""
        return next((self.weekly[d] for d in range(5) if self.weekly.get(d)), ())


class BusinessCalendar:
    """Working time in one time zone. Without `hours` it is open round the clock (and day rules do not matter)."""

    def __init__(self, timezone: str = "UTC", hours: WeeklyHours | None = None, days: DayRules | None = None) -> None:
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidSettings(f"unknown timezone {timezone!r}") from exc
        self.timezone = timezone
        self.hours = hours
        self.days = days
        self._cache: dict[dt.date, tuple[tuple[float, float], ...]] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.timezone!r}, {self.hours!r}, {self.days!r})"

    @property
    def always_open(self) -> bool:
        return self.hours is None

    # -- the API ---------------------------------------------------------------------------------------------------

    def is_open(self, at: dt.datetime) -> bool:
        ts = _epoch(at)
        if self.hours is None:
            return True
        return any(start <= ts < end for start, end in self._open_spans(self._local_date(ts)))

    def next_open(self, at: dt.datetime) -> dt.datetime | None:
        """`at` itself when open, else the next opening; None when nothing opens within `HORIZON_DAYS`."""
        ts = _epoch(at)
        for start, end in self._spans_from(ts):
            if end > ts:
                return _utc(max(start, ts))
        return None

    def add_business_time(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The instant when `seconds` of working time have passed since `start` (closed time does not count).

        Zero seconds is `start` itself, open or not. Raises InvalidSettings when the calendar has no open time left.
        """
        ts = _epoch(start)
        if seconds <= 0:
            return _utc(ts)
        if self.hours is None:
            return _utc(ts + seconds)
        remaining = float(seconds)
        for span_start, span_end in self._spans_from(ts):
            begin = max(span_start, ts)
            if begin >= span_end:
                continue
            if remaining <= span_end - begin:
                return _utc(begin + remaining)
            remaining -= span_end - begin
        raise InvalidSettings(f"the business calendar has no open time within {HORIZON_DAYS} days")

    def business_seconds_between(self, a: dt.datetime, b: dt.datetime) -> float:
        """Working seconds from `a` to `b`; negative when `b` is before `a`."""
        low, high = _epoch(a), _epoch(b)
        if high < low:
            return -self.business_seconds_between(b, a)
        if self.hours is None:
            return high - low
        total = 0.0
        day = self._local_date(low)
        last = self._local_date(high)
        while day <= last:
            for start, end in self._open_spans(day):
                total += max(0.0, min(end, high) - max(start, low))
            day += dt.timedelta(days=1)
        return total

    # -- internals -------------------------------------------------------------------------------------------------

    def _local_date(self, ts: float) -> dt.date:
        return dt.datetime.fromtimestamp(ts, self._zone).date()

    def _spans_from(self, ts: float) -> Iterator[tuple[float, float]]:
        """Open spans (epoch seconds) of the local day holding `ts` and the days after it, in order."""
        if self.hours is None:
            yield ts, ts + HORIZON_DAYS * 86400.0
            return
        day = self._local_date(ts)
        for offset in range(HORIZON_DAYS):
            yield from self._open_spans(day + dt.timedelta(days=offset))

    def _open_spans(self, day: dt.date) -> tuple[tuple[float, float], ...]:
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        assert self.hours is not None
        kind = self.days.kind_of(day) if self.days is not None else None
        if kind is DayKind.HOLIDAY:
            minutes: tuple[Span, ...] = ()
        elif kind is DayKind.WORKDAY:
            minutes = self.hours.workday_spans
        else:
            minutes = self.hours.spans(day.weekday())
        spans = tuple((self._at(day, a), self._at(day, b)) for a, b in minutes)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[day] = spans
        return spans

    def _at(self, day: dt.date, minute: int) -> float:
        if minute >= MINUTES_PER_DAY:
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=self._zone).timestamp()
        return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self._zone).timestamp()


def _epoch(at: dt.datetime) -> float:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"business time needs a tz-aware datetime, got {at!r}")
    return at.timestamp()


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, UTC)


def day_rules(source: str) -> DayRules | None:
    """`cn`, `none` (or empty), a path to a holidays CSV, or several joined by `+` (later ones override):
    `cn+/etc/frontdoor/holidays.csv` is China's calendar corrected by the shop's own dates."""
    layers: list[DayRules] = []
    for item in filter(None, (s.strip() for s in source.split("+"))):
        if item.lower() == "cn":
            layers.append(ChinaHolidays())
        elif item.lower() != "none":
            layers.append(FixedDays.load(Path(item)))
    if not layers:
        return None
    return layers[0] if len(layers) == 1 else LayeredDays(tuple(layers))
