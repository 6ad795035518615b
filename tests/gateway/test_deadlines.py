"""Deadlines in mainland-China working days, checked against the official 2026 schedule.

Reference: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04): 元旦 1/1-1/3 (1/4 Sun works); 春节 2/15-2/23
(2/14 Sat, 2/28 Sat work); 清明 4/4-4/6; 劳动节 5/1-5/5 (5/9 Sat works); 端午 6/19-6/21; 中秋 9/25-9/27;
国庆 10/1-10/7 (9/20 Sun, 10/10 Sat work).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import pytest

from spotcheck.gateway import workdays as deadlines
from spotcheck.gateway.workdays import (
    BASIS_PLATFORM_ANSWER,
    BASIS_REINSPECTION_APPLICATION,
    BASIS_RESULT_NOTICE,
    SHANGHAI,
    CalendarOverlayError,
    Deadline,
    WorkdayCalendar,
    deadline_after_days,
    deadline_after_working_days,
    deadline_for_platform_answer,
    deadline_for_reinspection_application,
    deadline_for_result_notice,
    default_calendar,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

OFFICIAL_2026_DAYS_OFF = {
    *(date(2026, 1, d) for d in range(1, 4)),
    *(date(2026, 2, d) for d in range(15, 24)),
    *(date(2026, 4, d) for d in range(4, 7)),
    *(date(2026, 5, d) for d in range(1, 6)),
    *(date(2026, 6, d) for d in range(19, 22)),
    *(date(2026, 9, d) for d in range(25, 28)),
    *(date(2026, 10, d) for d in range(1, 8)),
}
OFFICIAL_2026_WORKING_WEEKENDS = {
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
}


def official_2026_is_working_day(day: date) -> bool:
    if day in OFFICIAL_2026_WORKING_WEEKENDS:
        return True
    return day.weekday() < 5 and day not in OFFICIAL_2026_DAYS_OFF


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def calendar() -> WorkdayCalendar:
    return WorkdayCalendar()


@pytest.fixture(scope="module")
def package_only() -> WorkdayCalendar:
    return WorkdayCalendar(bundled_overlay=False)


def write_overlay(tmp_path: Path, text: str, name: str = "overlay.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the calendar against the official notice -------------------------------------------------------------------


def test_bundled_calendar_matches_the_official_2026_notice(calendar: WorkdayCalendar) -> None:
    mismatches = [d for d in days_of(2026) if calendar.is_working_day(d) != official_2026_is_working_day(d)]
    assert mismatches == []
    assert calendar.schedule_source(2026) == "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）"


def test_holidays_package_alone_agrees_with_the_official_2026_notice(package_only: WorkdayCalendar) -> None:
    mismatches = [d for d in days_of(2026) if package_only.is_working_day(d) != official_2026_is_working_day(d)]
    assert mismatches == []
    source = package_only.schedule_source(2026)
    assert source is not None
    assert source.startswith("holidays ")


def test_adjusted_working_weekend_days_are_working_days(calendar: WorkdayCalendar) -> None:
    assert date(2026, 9, 20).weekday() == 6  # a Sunday
    assert calendar.is_working_day(date(2026, 9, 20))
    assert calendar.is_working_day(date(2026, 1, 4))  # Sunday after New Year
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday after National Day
    assert not calendar.is_working_day(date(2026, 9, 19))  # the ordinary Saturday before
    assert not calendar.is_working_day(date(2026, 10, 6))  # a Tuesday inside the National Day block


def test_package_years_carry_their_adjusted_days(package_only: WorkdayCalendar) -> None:
    # 2025 comes from the package only: Spring Festival Jan 28-Feb 4, Sunday Jan 26 and Saturday Feb 8 worked.
    assert package_only.is_covered(2025)
    assert package_only.is_working_day(date(2025, 1, 26))
    assert package_only.is_working_day(date(2025, 2, 8))
    assert not package_only.is_working_day(date(2025, 2, 4))
    # 2002's notice moved work onto Saturday 2001-12-29: the day is filed under 2001.
    assert package_only.is_working_day(date(2001, 12, 29))


def test_coverage_follows_the_package_and_overlays(calendar: WorkdayCalendar) -> None:
    assert calendar.is_covered(2026)
    assert calendar.is_covered(2001)
    assert not calendar.is_covered(2000)  # the package transcribes notices from 2001 on
    assert not calendar.is_covered(2031)
    assert calendar.schedule_source(2031) is None


def test_uncovered_year_counts_weekends_only(calendar: WorkdayCalendar) -> None:
    assert calendar.is_working_day(date(2031, 10, 1))  # National Day, unknown schedule: a plain Wednesday
    assert not calendar.is_working_day(date(2031, 10, 4))  # Saturday


# --- the result notice: 5 working days (三(二)) -------------------------------------------------------------------


def test_result_received_just_before_spring_festival(calendar: WorkdayCalendar) -> None:
    # Fri 2/13 received; Sat 2/14 (adjusted) = 1; 2/15-2/23 off; 2/24, 2/25, 2/26, 2/27 = 2..5.
    deadline = deadline_for_result_notice(at(date(2026, 2, 13)), calendar=calendar)
    assert deadline == Deadline(
        due_at=end_of(date(2026, 2, 27)), provisional=False, rule="5 working days", basis=BASIS_RESULT_NOTICE
    )


def test_result_received_on_the_adjusted_saturday_before_spring_festival(calendar: WorkdayCalendar) -> None:
    # Sat 2/14 is itself a working day; counting starts after it: 2/24 .. 2/28 (Saturday, adjusted) = 1..5.
    deadline = deadline_for_result_notice(at(date(2026, 2, 14)), calendar=calendar)
    assert deadline.due_at == end_of(date(2026, 2, 28))


def test_result_received_before_national_day(calendar: WorkdayCalendar) -> None:
    # Thu 9/24; 9/25-9/27 Mid-Autumn off; 9/28, 9/29, 9/30 = 1..3; 10/1-10/7 off; 10/8, 10/9 = 4, 5.
    assert deadline_for_result_notice(at(date(2026, 9, 24)), calendar=calendar).due_at == end_of(date(2026, 10, 9))
    # Tue 9/29; 9/30 = 1; 10/8, 10/9 = 2, 3; Sat 10/10 (adjusted) = 4; Sun 10/11 off; Mon 10/12 = 5.
    assert deadline_for_result_notice(at(date(2026, 9, 29)), calendar=calendar).due_at == end_of(date(2026, 10, 12))


def test_adjusted_working_sunday_counts(calendar: WorkdayCalendar) -> None:
    # Fri 9/18; Sat 9/19 off; Sun 9/20 (adjusted) = 1; 9/21 .. 9/24 = 2..5.
    assert deadline_for_result_notice(at(date(2026, 9, 18)), calendar=calendar).due_at == end_of(date(2026, 9, 24))


def test_event_day_is_not_counted(calendar: WorkdayCalendar) -> None:
    # Mon 3/9 received at 08:00: Tue 3/10 is day 1, so the fifth is Mon 3/16, not Fri 3/13.
    early = deadline_for_result_notice(at(date(2026, 3, 9), 8), calendar=calendar)
    late = deadline_for_result_notice(at(date(2026, 3, 9), 23, 59), calendar=calendar)
    assert early.due_at == late.due_at == end_of(date(2026, 3, 16))
    assert early.due_date == date(2026, 3, 16)


def test_utc_event_is_counted_on_its_shanghai_date(calendar: WorkdayCalendar) -> None:
    # 23:30 UTC on 3/9 is 07:30 on Tue 3/10 in Shanghai: counting starts 3/11.
    shifted = deadline_for_result_notice(datetime(2026, 3, 9, 23, 30, tzinfo=UTC), calendar=calendar)
    assert shifted.due_at == end_of(date(2026, 3, 17))
    # 15:30 UTC on 3/9 is 23:30 the same day in Shanghai.
    same_day = deadline_for_result_notice(datetime(2026, 3, 9, 15, 30, tzinfo=UTC), calendar=calendar)
    assert same_day.due_at == end_of(date(2026, 3, 16))
    assert shifted.due_at.tzinfo is SHANGHAI
    assert shifted.due_at.utcoffset() == timedelta(hours=8)


def test_deadline_in_2031_is_provisional(calendar: WorkdayCalendar) -> None:
    # Tue 2031-09-30; the 2031 National Day block is unknown, so Oct 1-3 and Oct 6-7 count as working days.
    deadline = deadline_for_result_notice(at(date(2031, 9, 30)), calendar=calendar)
    assert deadline.provisional
    assert deadline.due_at == end_of(date(2031, 10, 7))


def test_known_schedule_is_not_provisional(calendar: WorkdayCalendar) -> None:
    assert not deadline_for_result_notice(at(date(2026, 12, 1)), calendar=calendar).provisional


# --- the re-inspection window: 15 days (三(三)) -------------------------------------------------------------------


def test_reinspection_window_is_fifteen_calendar_days(calendar: WorkdayCalendar) -> None:
    # Mon 3/2 received: 3/3 is day 1, day 15 is Tue 3/17, a working day.
    deadline = deadline_for_reinspection_application(at(date(2026, 3, 2)), calendar=calendar)
    assert deadline == Deadline(
        due_at=end_of(date(2026, 3, 17)), provisional=False, rule="15 days", basis=BASIS_REINSPECTION_APPLICATION
    )


def test_reinspection_window_ending_on_national_day_moves_after_it(calendar: WorkdayCalendar) -> None:
    # Wed 9/16 + 15 = Thu 10/1, inside the 10/1-10/7 block: the window ends on Thu 10/8.
    deadline = deadline_for_reinspection_application(at(date(2026, 9, 16)), calendar=calendar)
    assert deadline.due_at == end_of(date(2026, 10, 8))


def test_reinspection_window_ending_in_spring_festival_moves_after_it(calendar: WorkdayCalendar) -> None:
    # Sun 2/1 + 15 = Mon 2/16 (New Year's Eve): the window ends on Tue 2/24.
    deadline = deadline_for_reinspection_application(at(date(2026, 2, 1)), calendar=calendar)
    assert deadline.due_at == end_of(date(2026, 2, 24))


def test_reinspection_window_ending_on_a_plain_weekend_moves_to_monday(calendar: WorkdayCalendar) -> None:
    # Sat 3/7 + 15 = Sun 3/22: the window ends on Mon 3/23.
    deadline = deadline_for_reinspection_application(at(date(2026, 3, 7)), calendar=calendar)
    assert deadline.due_at == end_of(date(2026, 3, 23))


def test_reinspection_window_ending_on_an_adjusted_working_saturday_stays(calendar: WorkdayCalendar) -> None:
    # Fri 9/25 + 15 = Sat 10/10, a working day: no extension.
    deadline = deadline_for_reinspection_application(at(date(2026, 9, 25)), calendar=calendar)
    assert deadline.due_at == end_of(date(2026, 10, 10))


def test_reinspection_notice_received_late_utc_evening(calendar: WorkdayCalendar) -> None:
    # 2026-03-01 16:30 UTC is already 3/2 00:30 in Shanghai: same result as 3/2.
    deadline = deadline_for_reinspection_application(datetime(2026, 3, 1, 16, 30, tzinfo=UTC), calendar=calendar)
    assert deadline.due_at == end_of(date(2026, 3, 17))


# --- platform answers and the generic counters ---------------------------------------------------------------------


def test_platform_answer_default_two_working_days(calendar: WorkdayCalendar) -> None:
    # Issued Sat 9/19: Sun 9/20 (adjusted) = 1, Mon 9/21 = 2.
    deadline = deadline_for_platform_answer(at(date(2026, 9, 19)), calendar=calendar)
    assert deadline == Deadline(
        due_at=end_of(date(2026, 9, 21)), provisional=False, rule="2 working days", basis=BASIS_PLATFORM_ANSWER
    )


def test_platform_answer_custom_sla_over_labour_day(calendar: WorkdayCalendar) -> None:
    # Issued Thu 4/30; 5/1-5/5 off; Wed 5/6 is the single working day.
    deadline = deadline_for_platform_answer(at(date(2026, 4, 30)), 1, calendar=calendar)
    assert deadline.due_at == end_of(date(2026, 5, 6))
    assert deadline.rule == "1 working day"


def test_generic_counters_carry_the_given_basis(calendar: WorkdayCalendar) -> None:
    working = deadline_after_working_days(at(date(2026, 3, 9)), 3, basis="contract §4", calendar=calendar)
    assert (working.due_at, working.rule, working.basis) == (end_of(date(2026, 3, 12)), "3 working days", "contract §4")
    plain = deadline_after_days(at(date(2026, 3, 9)), 1, basis="contract §5", calendar=calendar)
    assert (plain.due_at, plain.rule, plain.basis) == (end_of(date(2026, 3, 10)), "1 day", "contract §5")


@pytest.mark.parametrize(
    ("compute", "argument"),
    [
        (lambda t, c: deadline_for_result_notice(t, calendar=c), "result_received_at"),
        (lambda t, c: deadline_for_reinspection_application(t, calendar=c), "notice_received_at"),
        (lambda t, c: deadline_for_platform_answer(t, calendar=c), "issued_at"),
        (lambda t, c: deadline_after_working_days(t, 1, basis="x", calendar=c), "event_at"),
        (lambda t, c: deadline_after_days(t, 1, basis="x", calendar=c), "event_at"),
    ],
)
def test_naive_datetimes_are_refused_by_name(compute: object, argument: str, calendar: WorkdayCalendar) -> None:
    assert callable(compute)
    with pytest.raises(ValueError, match=f"^{argument} must be a timezone-aware datetime"):
        compute(datetime(2026, 3, 9, 10, 0), calendar)  # noqa: DTZ001 -- the naive input under test


@pytest.mark.parametrize("count", [0, -1, True])
def test_non_positive_periods_are_refused(count: int, calendar: WorkdayCalendar) -> None:
    with pytest.raises(ValueError, match="working_days must be a positive integer"):
        deadline_for_platform_answer(at(date(2026, 3, 9)), count, calendar=calendar)
    with pytest.raises(ValueError, match="days must be a positive integer"):
        deadline_after_days(at(date(2026, 3, 9)), count, basis="x", calendar=calendar)


def test_deadline_requires_an_aware_due_at() -> None:
    with pytest.raises(ValueError, match="due_at must be timezone-aware"):
        Deadline(due_at=datetime(2026, 3, 9), provisional=False, rule="1 day", basis="x")  # noqa: DTZ001


# --- status() -------------------------------------------------------------------------------------------------------


def test_status_transitions_over_a_weekend(calendar: WorkdayCalendar) -> None:
    deadline = deadline_for_result_notice(at(date(2026, 3, 9)), calendar=calendar)  # due Mon 3/16 end
    assert deadline.status(at(date(2026, 3, 12), 12), calendar=calendar) == "ok"
    assert deadline.status(end_of(date(2026, 3, 13)), calendar=calendar) == "ok"
    assert deadline.status(at(date(2026, 3, 14), 0), calendar=calendar) == "due_soon"  # Saturday: one working day left
    assert deadline.status(end_of(date(2026, 3, 16)), calendar=calendar) == "due_soon"
    assert deadline.status(at(date(2026, 3, 17), 0), calendar=calendar) == "overdue"


def test_status_uses_the_instant_not_the_wall_clock_zone(calendar: WorkdayCalendar) -> None:
    deadline = deadline_for_result_notice(at(date(2026, 3, 9)), calendar=calendar)  # due 3/16 23:59:59.999999 +08
    assert deadline.status(datetime(2026, 3, 16, 15, 59, 59, tzinfo=UTC), calendar=calendar) == "due_soon"
    assert deadline.status(datetime(2026, 3, 16, 16, 0, 0, tzinfo=UTC), calendar=calendar) == "overdue"


def test_status_warns_across_a_holiday_block(calendar: WorkdayCalendar) -> None:
    # Due Tue 2/24; the working day before it is Sat 2/14 (adjusted), so the warning starts on 2/15.
    deadline = deadline_for_reinspection_application(at(date(2026, 2, 1)), calendar=calendar)
    assert deadline.status(end_of(date(2026, 2, 14)), calendar=calendar) == "ok"
    assert deadline.status(at(date(2026, 2, 15), 0), calendar=calendar) == "due_soon"


def test_status_warning_window_is_configurable(calendar: WorkdayCalendar) -> None:
    deadline = deadline_for_result_notice(at(date(2026, 3, 9)), calendar=calendar)  # due Mon 3/16
    friday = at(date(2026, 3, 13), 10)
    assert deadline.status(friday, calendar=calendar) == "ok"
    assert deadline.status(friday, due_soon_working_days=2, calendar=calendar) == "due_soon"
    assert deadline.status(end_of(date(2026, 3, 16)), due_soon_working_days=0, calendar=calendar) == "ok"
    with pytest.raises(ValueError, match="due_soon_working_days must be >= 0"):
        deadline.status(friday, due_soon_working_days=-1, calendar=calendar)


def test_status_refuses_naive_now(calendar: WorkdayCalendar) -> None:
    deadline = deadline_for_result_notice(at(date(2026, 3, 9)), calendar=calendar)
    with pytest.raises(ValueError, match=r"^now must be a timezone-aware datetime"):
        deadline.status(datetime(2026, 3, 9), calendar=calendar)  # noqa: DTZ001


# --- overlays -------------------------------------------------------------------------------------------------------

OVERLAY_2030 = """
[years.2030]
source = "国办发明电〔2029〕N号"
holidays = [2030-12-30, "2030-12-31"]
workdays = [2030-12-28]
"""


def test_overlay_adds_a_year_and_makes_it_covered(tmp_path: Path) -> None:
    cal = WorkdayCalendar(write_overlay(tmp_path, OVERLAY_2030))
    assert cal.is_covered(2030)
    assert cal.schedule_source(2030) == "国办发明电〔2029〕N号"
    assert cal.is_working_day(date(2030, 12, 28))  # Saturday declared working
    assert not cal.is_working_day(date(2030, 12, 30))  # Monday declared off
    # Fri 12/27: Sat 12/28 = 1; 12/29-12/31 off; then 2031 (uncovered) = 2: provisional.
    crossing = deadline_for_platform_answer(at(date(2030, 12, 27)), calendar=cal)
    assert crossing.due_at == end_of(date(2031, 1, 1))
    assert crossing.provisional
    inside = deadline_for_platform_answer(at(date(2030, 12, 2)), calendar=cal)
    assert inside.due_at == end_of(date(2030, 12, 4))
    assert not inside.provisional


def test_overlay_overrides_the_bundled_schedule(tmp_path: Path, calendar: WorkdayCalendar) -> None:
    # A hypothetical correction: 3/10 becomes a day off and Saturday 3/14 a working day.
    text = """
[years.2026]
source = "国办发明电〔2026〕N号"
holidays = [2026-03-10]
workdays = [2026-03-14]
"""
    cal = WorkdayCalendar(write_overlay(tmp_path, text))
    assert cal.schedule_source(2026) == "国办发明电〔2026〕N号"
    assert not cal.is_working_day(date(2026, 3, 10))
    assert cal.is_working_day(date(2026, 3, 14))
    assert cal.is_working_day(date(2026, 10, 5))  # the whole year is replaced, not merged
    # Mon 3/9: 3/11, 3/12, 3/13, Sat 3/14, Mon 3/16 = 1..5 (the bundled calendar also ends 3/16 by another route).
    assert deadline_for_result_notice(at(date(2026, 3, 9)), calendar=cal).due_at == end_of(date(2026, 3, 16))
    # Sun 3/8: 3/9, 3/11, 3/12, 3/13, Sat 3/14 = 1..5, where the bundled calendar says Fri 3/13.
    assert deadline_for_result_notice(at(date(2026, 3, 8)), calendar=cal).due_at == end_of(date(2026, 3, 14))
    assert deadline_for_result_notice(at(date(2026, 3, 8)), calendar=calendar).due_at == end_of(date(2026, 3, 13))


def test_overlay_corrects_the_package(tmp_path: Path, package_only: WorkdayCalendar) -> None:
    # The package's schedule for a year it covers is replaced by an overlay for that year.
    text = """
[years.2025]
source = "correction"
holidays = [2025-01-01]
"""
    cal = WorkdayCalendar(write_overlay(tmp_path, text), bundled_overlay=False)
    assert not package_only.is_working_day(date(2025, 2, 4))
    assert cal.is_working_day(date(2025, 2, 4))
    assert not cal.is_working_day(date(2025, 1, 26))  # the package's adjusted Sunday is gone too


def test_empty_overlay_changes_nothing(tmp_path: Path, calendar: WorkdayCalendar) -> None:
    cal = WorkdayCalendar(write_overlay(tmp_path, "# no years yet\n"))
    assert all(cal.is_working_day(d) == calendar.is_working_day(d) for d in days_of(2026))


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('[years.2027]\nsource = "n"\nholidays = ["2027-02-30"]\n', "years.2027.holidays[0]", "not a valid date"),
        ('[years.2027]\nsource = "n"\nholidays = ["20270101"]\n', "years.2027.holidays[0]", "not a valid date"),
        ('[years.2027]\nsource = "n"\nholidays = [2026-12-31]\n', "years.2027.holidays[0]", "not in 2027"),
        (
            '[years.2027]\nsource = "n"\nholidays = [2027-02-06]\nworkdays = [2027-02-06]\n',
            "years.2027.workdays[0]",
            "also listed as years.2027.holidays[0]",
        ),
        (
            '[years.2027]\nsource = "n"\nholidays = [2027-01-01, 2027-01-01]\n',
            "years.2027.holidays[1]",
            "listed twice",
        ),
        (
            '[years.2027]\nsource = "n"\nholidays = [2027-01-01]\nworkdays = [2027-01-04]\n',
            "years.2027.workdays[0]",
            "weekday",
        ),
        ('[years.2027]\nsource = "n"\nholidays = [2027-01-01T08:00:00]\n', "years.2027.holidays[0]", "expected a date"),
        ('[years.2027]\nsource = "n"\nholidays = [20270101]\n', "years.2027.holidays[0]", "expected a date"),
        ('[years.2027]\nsource = "n"\nholidays = "2027-01-01"\n', "years.2027.holidays", "expected an array"),
        ("[years.2027]\nholidays = [2027-01-01]\n", "years.2027.source", "State Council notice"),
        ('[years.2027]\nsource = "n"\n', "years.2027.holidays", "missing"),
        ('[years.2027]\nsource = "n"\nholidays = []\nrestdays = []\n', "years.2027.restdays", "unknown key"),
        ('[years.27]\nsource = "n"\nholidays = []\n', "years.27", "four-digit year"),
        ("years = 2027\n", "years", "expected tables"),
        ('[year.2027]\nsource = "n"\n', "year", "unknown top-level key"),
    ],
)
def test_overlay_validation_names_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write_overlay(tmp_path, text)
    with pytest.raises(CalendarOverlayError, match=re.escape(problem)) as caught:
        WorkdayCalendar(path)
    assert caught.value.path == str(path)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{path}: {key}: ")


def test_overlay_that_is_not_toml(tmp_path: Path) -> None:
    path = write_overlay(tmp_path, "[years.2027\n")
    with pytest.raises(CalendarOverlayError, match="not valid TOML") as caught:
        WorkdayCalendar(path)
    assert caught.value.path == str(path)
    assert caught.value.key is None


def test_missing_overlay_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(CalendarOverlayError, match="cannot read the overlay") as caught:
        WorkdayCalendar(path)
    assert caught.value.path == str(path)


def test_overlay_error_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"overlay\.toml"):
        WorkdayCalendar(write_overlay(tmp_path, "[years.2027\n"))


# --- default_calendar() ---------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_default_calendar() -> Iterator[None]:
    default_calendar.cache_clear()
    yield
    default_calendar.cache_clear()


@pytest.mark.usefixtures("fresh_default_calendar")
def test_default_calendar_is_cached_and_bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPOTCHECK_CALENDAR_OVERLAY", raising=False)
    first = default_calendar()
    assert default_calendar() is first
    assert first.schedule_source(2026) == "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日）"
    # The functions fall back to it when no calendar is given.
    assert deadline_for_result_notice(at(date(2026, 2, 13))).due_at == end_of(date(2026, 2, 27))
    assert deadline_for_result_notice(at(date(2026, 3, 9))).status(at(date(2026, 3, 14), 0)) == "due_soon"


@pytest.mark.usefixtures("fresh_default_calendar")
def test_default_calendar_reads_the_regulator_overlay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPOTCHECK_CALENDAR_OVERLAY", str(write_overlay(tmp_path, OVERLAY_2030)))
    assert default_calendar().is_covered(2030)
    assert default_calendar().is_covered(2026)  # the bundled overlay still applies


def test_public_surface() -> None:
    assert sorted(deadlines.__all__) == sorted(
        [
            "BASIS_PLATFORM_ANSWER",
            "BASIS_REINSPECTION_APPLICATION",
            "BASIS_RESULT_NOTICE",
            "SHANGHAI",
            "CalendarOverlayError",
            "Deadline",
            "DeadlineStatus",
            "WorkdayCalendar",
            "deadline_after_days",
            "deadline_after_working_days",
            "deadline_for_platform_answer",
            "deadline_for_reinspection_application",
            "deadline_for_result_notice",
            "default_calendar",
        ]
    )
    assert all(hasattr(deadlines, name) for name in deadlines.__all__)
