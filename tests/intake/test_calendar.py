"""The business calendar, with fixed datetimes: hours, breaks, China's holidays and 调休, DST, files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backends.exceptions import InvalidSettings as InvalidVariables
from intake import (
    BusinessCalendar,
    CalendarConfig,
    ChinaHolidays,
    DayKind,
    FixedDays,
    InvalidSettings,
    WeeklyHours,
)
from intake.calendar import day_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600.0


def sh(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def office(spec: str = "Mon-Fri 09:00-17:00", holidays: str = "none", tz: str = "Asia/Shanghai") -> BusinessCalendar:
    return BusinessCalendar(tz, WeeklyHours.parse(spec), day_rules(holidays))


def test_friday_afternoon_plus_one_business_hour_is_monday_morning() -> None:
    due = office().add_business_time(sh(2025, 11, 14, 16, 30), HOUR)  # a Friday
    assert due == sh(2025, 11, 17, 9, 30)
    assert due.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (sh(2025, 11, 17, 9, 0), 1, sh(2025, 11, 17, 10, 0)),  # inside the morning
        (sh(2025, 11, 17, 11, 30), 1, sh(2025, 11, 17, 14, 0)),  # the lunch break does not count
        (sh(2025, 11, 17, 12, 45), 1, sh(2025, 11, 17, 14, 30)),  # started during lunch: counts from 13:30
        (sh(2025, 11, 17, 7, 0), 0.5, sh(2025, 11, 17, 9, 30)),  # before opening
        (sh(2025, 11, 17, 20, 0), 0.5, sh(2025, 11, 18, 9, 30)),  # after closing
        (sh(2025, 11, 15, 11, 0), 6, sh(2025, 11, 17, 10, 0)),  # Saturday 11-16 is 5 h, then Monday 9-10
        (sh(2025, 11, 17, 9, 0), 7.5, sh(2025, 11, 17, 18, 0)),  # a whole Monday is exactly 7.5 h
    ],
)
def test_due_times_follow_hours_with_a_lunch_break(start: dt.datetime, hours: float, due: dt.datetime) -> None:
    calendar = office("Mon-Fri 09:00-12:00,13:30-18:00; Sat 10:00-16:00")
    assert calendar.add_business_time(start, hours * HOUR) == due
    assert calendar.business_seconds_between(start, due) == pytest.approx(hours * HOUR)


def test_a_lunch_break_is_closed_and_next_open_is_after_it() -> None:
    calendar = office("Mon-Fri 09:00-12:00,13:30-18:00")
    assert calendar.is_open(sh(2025, 11, 17, 11, 59))
    assert not calendar.is_open(sh(2025, 11, 17, 12, 30))
    assert calendar.next_open(sh(2025, 11, 17, 12, 30)) == sh(2025, 11, 17, 13, 30)
    assert calendar.next_open(sh(2025, 11, 17, 10, 0)) == sh(2025, 11, 17, 10, 0)
    assert calendar.next_open(sh(2025, 11, 14, 18, 0)) == sh(2025, 11, 17, 9, 0)  # Friday evening -> Monday


def test_national_day_is_skipped_and_the_make_up_working_days_count() -> None:
    calendar = office("Mon-Fri 09:00-17:00", holidays="cn")
    # 2025-09-28 is a Sunday and 2025-10-11 a Saturday that China made working days (调休); 10-01..08 are off.
    assert calendar.is_open(sh(2025, 9, 28, 10, 0))
    assert not calendar.is_open(sh(2025, 9, 27, 10, 0))  # an ordinary Saturday
    assert not calendar.is_open(sh(2025, 10, 1, 10, 0))
    assert not calendar.is_open(sh(2025, 10, 8, 10, 0))  # a Wednesday inside the holiday
    # Friday 26 Sept 16:30 + 1 h: the rest of Friday, then the make-up Sunday morning.
    assert calendar.add_business_time(sh(2025, 9, 26, 16, 30), HOUR) == sh(2025, 9, 28, 9, 30)
    # Tuesday 30 Sept 16:00 + 2 h: the holiday runs to the 8th; Thursday 9 Oct opens again.
    assert calendar.add_business_time(sh(2025, 9, 30, 16, 0), 2 * HOUR) == sh(2025, 10, 9, 10, 0)
    assert calendar.next_open(sh(2025, 10, 1, 0, 0)) == sh(2025, 10, 9, 9, 0)
    assert calendar.business_seconds_between(sh(2025, 9, 30, 17, 0), sh(2025, 10, 11, 17, 0)) == 3 * 8 * HOUR


def test_a_holiday_closes_a_saturday_the_week_would_open() -> None:
    calendar = office("Mon-Fri 09:00-17:00; Sat 10:00-16:00", holidays="cn")
    assert not calendar.is_open(sh(2025, 10, 4, 11, 0))  # Saturday inside National Day
    assert calendar.is_open(sh(2025, 10, 18, 11, 0))  # an ordinary Saturday
    assert calendar.is_open(sh(2025, 10, 11, 9, 30))  # the make-up Saturday opens with a weekday's hours


def test_china_holidays_read_the_package_and_know_nothing_of_unknown_years() -> None:
    rules = ChinaHolidays()
    assert rules.kind_of(dt.date(2025, 10, 1)) is DayKind.HOLIDAY
    assert rules.kind_of(dt.date(2025, 9, 28)) is DayKind.WORKDAY
    assert rules.kind_of(dt.date(2025, 10, 9)) is None
    assert rules.kind_of(dt.date(2025, 10, 12)) is None  # an ordinary Sunday: the week decides
    assert rules.kind_of(dt.date(2099, 10, 1)) is None


def test_a_holidays_file_extends_and_overrides_china_s_calendar(tmp_path: Path) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text(
        "date,kind,note\n# the shop's own days\n2025-11-17,holiday,company day\n2025-10-08,workday,shop opens early\n",
        encoding="utf-8",
    )
    assert FixedDays.load(path).kind_of(dt.date(2025, 11, 17)) is DayKind.HOLIDAY
    calendar = office(holidays=f"cn+{path}")
    assert not calendar.is_open(sh(2025, 11, 17, 10, 0))
    assert calendar.is_open(sh(2025, 10, 8, 10, 0))
    assert not calendar.is_open(sh(2025, 10, 7, 10, 0))


def test_an_unreadable_holidays_file_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("2025-13-01,holiday\n", encoding="utf-8")
    with pytest.raises(InvalidSettings):
        FixedDays.load(bad)
    with pytest.raises(InvalidSettings):
        day_rules(str(tmp_path / "missing.csv"))


def test_berlin_dst_changes_count_real_time() -> None:
    calendar = office("Sun 00:00-24:00", holidays="none", tz="Europe/Berlin")
    spring = dt.datetime(2024, 3, 31, 0, 0, tzinfo=BERLIN)  # clocks jump from 02:00 to 03:00: a 23-hour Sunday
    assert calendar.business_seconds_between(spring, spring + dt.timedelta(days=2)) == 23 * HOUR
    assert calendar.add_business_time(spring, 23 * HOUR) == dt.datetime(2024, 3, 31, 22, 0, tzinfo=dt.UTC)
    autumn = dt.datetime(2024, 10, 27, 0, 0, tzinfo=BERLIN)  # a 25-hour Sunday
    assert calendar.business_seconds_between(autumn, autumn + dt.timedelta(days=1, hours=2)) == 25 * HOUR


def test_berlin_office_hours_stay_local_across_dst() -> None:
    calendar = office("Mon-Fri 09:00-17:00", holidays="none", tz="Europe/Berlin")
    friday = dt.datetime(2024, 3, 29, 16, 30, tzinfo=BERLIN)  # CET (UTC+1); Monday is CEST (UTC+2)
    assert calendar.add_business_time(friday, HOUR) == dt.datetime(2024, 4, 1, 9, 30, tzinfo=BERLIN)
    assert calendar.add_business_time(friday, HOUR) == dt.datetime(2024, 4, 1, 7, 30, tzinfo=dt.UTC)


def test_without_hours_the_calendar_is_open_round_the_clock() -> None:
    calendar = BusinessCalendar("Asia/Shanghai", None, ChinaHolidays())
    national_day = sh(2025, 10, 1, 3, 0)
    assert calendar.always_open and calendar.is_open(national_day)
    assert calendar.next_open(national_day) == national_day
    assert calendar.add_business_time(national_day, 90.0) == national_day + dt.timedelta(seconds=90)
    assert calendar.business_seconds_between(national_day + dt.timedelta(hours=5), national_day) == -5 * HOUR


def test_zero_time_is_the_start_and_naive_datetimes_are_refused() -> None:
    calendar = office()
    assert calendar.add_business_time(sh(2025, 11, 15, 3, 0), 0) == sh(2025, 11, 15, 3, 0)
    with pytest.raises(ValueError, match="tz-aware"):
        calendar.is_open(dt.datetime(2025, 11, 17, 10, 0))


@pytest.mark.parametrize(
    "spec",
    ["weekdays nine to five", "Mon-Fri 09:00-12:00,11:00-13:00", "Mon-Fri 18:00-09:00", "Foo 09:00-10:00", ""],
)
def test_unreadable_empty_or_overlapping_hours_are_rejected(spec: str) -> None:
    with pytest.raises(InvalidSettings):
        WeeklyHours.parse(spec)


def test_hours_parse_into_weekday_minute_spans() -> None:
    hours = WeeklyHours.parse("Mon-Fri 09:00-12:00, 13:30-18:00; Sat 10:00-16:00; Sun-Mon 20:00-22:00")
    assert hours.spans(0) == ((540, 720), (810, 1080), (1200, 1320))
    assert hours.spans(5) == ((600, 960),)
    assert hours.spans(6) == ((1200, 1320),)
    assert WeeklyHours.parse("08:00-20:00").spans(3) == ((480, 1200),)  # no days: every day


def calendar_from_mapping(env: dict[str, str]) -> BusinessCalendar:
    return CalendarConfig.from_env(env).calendar()


def test_one_section_reads_the_calendar_variables_and_the_old_ones_still_work() -> None:
    assert calendar_from_mapping({}).always_open
    assert calendar_from_mapping({}).timezone == "Asia/Shanghai"
    new = calendar_from_mapping({"FD_CALENDAR_HOURS": "Mon-Fri 09:00-18:00", "FD_CALENDAR_TIMEZONE": "Europe/Berlin"})
    assert new.timezone == "Europe/Berlin" and isinstance(new.days, ChinaHolidays)
    assert new.hours is not None and new.hours.spans(4) == ((540, 1080),)
    intake = calendar_from_mapping({"FD_INTAKE_BUSINESS_HOURS": "Mon-Sat 08:00-20:00", "FD_CALENDAR_HOLIDAYS": "none"})
    assert intake.timezone == "UTC" and intake.days is None
    assert intake.hours is not None and intake.hours.spans(5) == ((480, 1200),)
    handoff = calendar_from_mapping(
        {"FD_HANDOFF_HOURS": "09:00-18:00", "FD_HANDOFF_DAYS": "0-5", "FD_HANDOFF_TIMEZONE": "Asia/Shanghai"}
    )
    assert handoff.timezone == "Asia/Shanghai"
    assert handoff.hours is not None and handoff.hours.spans(5) == ((540, 1080),) and not handoff.hours.spans(6)
    with pytest.raises(InvalidVariables, match="FD_CALENDAR_TIMEZONE"):
        calendar_from_mapping({"FD_CALENDAR_TIMEZONE": "Mars/Olympus"})


def test_the_new_variables_win_over_the_old_ones_and_a_set_time_zone_applies_to_old_hours() -> None:
    both = calendar_from_mapping({"FD_CALENDAR_HOURS": "Mon 10:00-11:00", "FD_HANDOFF_HOURS": "09:00-18:00"})
    assert both.hours is not None and both.hours.spans(0) == ((600, 660),) and both.timezone == "Asia/Shanghai"
    zoned = calendar_from_mapping(
        {"FD_INTAKE_BUSINESS_HOURS": "Mon-Fri 09:00-18:00", "FD_CALENDAR_TIMEZONE": "Asia/Tokyo"}
    )
    assert zoned.timezone == "Asia/Tokyo"


def test_every_bad_calendar_variable_is_named_at_once() -> None:
    with pytest.raises(InvalidVariables) as caught:
        calendar_from_mapping(
            {
                "FD_CALENDAR_HOURS": "Mon-Fry 09:00-18:00",
                "FD_CALENDAR_HOLIDAYS": "/nonexistent.csv",
                "FD_HANDOFF_DAYS": "9",
            }
        )
    named = " ".join(caught.value.problems)
    assert all(name in named for name in ("FD_CALENDAR_HOURS", "FD_CALENDAR_HOLIDAYS", "FD_HANDOFF_DAYS"))
