"""Legal deadlines counted in mainland-China working days (Asia/Shanghai).

The clocks come from 工商消字〔2015〕189号:

* 三(二): the regulator notifies the result within **five working days** (五个工作日) of receiving the test result;
* 三(三): the merchant or labelled manufacturer applies for re-inspection within **fifteen days** (十五日) of
  receiving the result notice or of its announcement on the official website; after that the result is final;
* 五(三): platforms must not refuse or delay; Spotcheck gives them a configurable answer SLA
  (default two working days for takedown and delisting orders).

Counting rules, applied in Asia/Shanghai whatever the time zone of the input:

1. The day of the triggering event is not counted (开始的当日不计入); counting starts the next day.
2. "N working days" counts the next N working days; the deadline is the end (23:59:59.999999) of the last one.
3. "N days" counts N calendar days; if the last day is a public holiday or rest day, the period ends at the end of
   the first working day after it (期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日).

Working days are Monday to Friday, minus the public holidays of the State Council's yearly schedule
(国务院办公厅关于××年部分节假日安排的通知), plus its adjusted working days (调休: Saturdays and Sundays declared
working days). The schedule comes from the ``holidays`` package, overridden year by year by an overlay TOML file
(the bundled ``data/cn_calendar_overlay.toml``, then an optional file of the regulator's). A year with no known
official schedule is counted on weekends only and every deadline that touches it is flagged provisional.
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import holidays

__all__ = [
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

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
"""The time zone every legal day is counted in."""

BASIS_RESULT_NOTICE: Final = "工商消字〔2015〕189号 三(二)"
"""Seed clause setting the five-working-day result notice clock."""

BASIS_REINSPECTION_APPLICATION: Final = "工商消字〔2015〕189号 三(三)"
"""Seed clause setting the fifteen-day re-inspection application window."""

BASIS_PLATFORM_ANSWER: Final = "工商消字〔2015〕189号 五(三); platform answer SLA"
"""Seed clause obliging platforms not to delay, made measurable by the configured SLA."""

DeadlineStatus = Literal["ok", "due_soon", "overdue"]
"""Where a deadline stands at a given instant."""

_BUNDLED_OVERLAY: Final = "data/cn_calendar_overlay.toml"
_OVERLAY_ENV: Final = "SPOTCHECK_CALENDAR_OVERLAY"
_SATURDAY: Final = 5
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarOverlayError(ValueError):
    """An overlay file cannot be read or breaks the overlay format.

    Attributes:
        path: the overlay file (or bundled resource) at fault.
        key: the dotted TOML key at fault (``years.2027.holidays[3]``), or None for file-level faults.
    """

    def __init__(self, path: str, key: str | None, problem: str) -> None:
        self.path = path
        self.key = key
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class _YearSchedule:
    """One calendar year's official schedule: days off on weekdays and working weekend days."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str


def _parse_overlay_date(raw: object, *, year: int, origin: str, key: str) -> date:
    """Accept a TOML local date or a ``YYYY-MM-DD`` string that falls in ``year``."""
    if isinstance(raw, datetime) or not isinstance(raw, date | str):
        raise CalendarOverlayError(origin, key, f"expected a date (YYYY-MM-DD), got {raw!r}")
    if isinstance(raw, str):
        try:
            # fromisoformat alone would also take 20270101 and week dates; the overlay format is YYYY-MM-DD only.
            if not _ISO_DATE.fullmatch(raw):
                raise ValueError(raw)  # noqa: TRY301 -- one message for both malformed shapes
            day = date.fromisoformat(raw)
        except ValueError:
            raise CalendarOverlayError(origin, key, f"{raw!r} is not a valid date (YYYY-MM-DD)") from None
    else:
        day = raw
    if day.year != year:
        raise CalendarOverlayError(origin, key, f"{day.isoformat()} is not in {year}; list it under [years.{day.year}]")
    return day


def _parse_overlay_dates(table: dict[str, Any], name: str, *, year: int, origin: str) -> dict[date, str]:
    """Read one date list of a year table into date -> key, refusing duplicates."""
    prefix = f"years.{year}.{name}"
    raw_list = table.get(name, [])
    if not isinstance(raw_list, list):
        raise CalendarOverlayError(origin, prefix, f"expected an array of dates, got {raw_list!r}")
    keys: dict[date, str] = {}
    for index, raw in enumerate(raw_list):
        key = f"{prefix}[{index}]"
        day = _parse_overlay_date(raw, year=year, origin=origin, key=key)
        if day in keys:
            raise CalendarOverlayError(origin, key, f"{day.isoformat()} is listed twice (also {keys[day]})")
        keys[day] = key
    return keys


def _parse_overlay_year(year_key: str, table: object, *, origin: str) -> tuple[int, _YearSchedule]:
    """Validate one ``[years.YYYY]`` table."""
    if not (len(year_key) == 4 and year_key.isascii() and year_key.isdigit()):  # noqa: PLR2004 -- four-digit year
        raise CalendarOverlayError(origin, f"years.{year_key}", "the key must be a four-digit year")
    year = int(year_key)
    prefix = f"years.{year}"
    if not isinstance(table, dict):
        raise CalendarOverlayError(origin, prefix, "expected a table with holidays, workdays and source")
    unknown = sorted(set(table) - {"holidays", "workdays", "source"})
    if unknown:
        raise CalendarOverlayError(
            origin, f"{prefix}.{unknown[0]}", "unknown key (expected holidays, workdays, source)"
        )
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CalendarOverlayError(origin, f"{prefix}.source", "name the State Council notice this schedule comes from")
    if "holidays" not in table:
        raise CalendarOverlayError(origin, f"{prefix}.holidays", "missing: list every day off of the year's schedule")
    days_off = _parse_overlay_dates(table, "holidays", year=year, origin=origin)
    workdays = _parse_overlay_dates(table, "workdays", year=year, origin=origin)
    for day, key in workdays.items():
        if day in days_off:
            raise CalendarOverlayError(origin, key, f"{day.isoformat()} is also listed as {days_off[day]}")
        if day.weekday() < _SATURDAY:
            raise CalendarOverlayError(
                origin, key, f"{day.isoformat()} is a weekday, already a working day; only weekend days are adjusted"
            )
    return year, _YearSchedule(holidays=frozenset(days_off), workdays=frozenset(workdays), source=source.strip())


def _parse_overlay(content: bytes, *, origin: str) -> dict[int, _YearSchedule]:
    """Parse and validate a whole overlay document."""
    try:
        document = tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CalendarOverlayError(origin, None, f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CalendarOverlayError(origin, None, f"not valid TOML ({exc})") from None
    unknown = sorted(set(document) - {"years"})
    if unknown:
        raise CalendarOverlayError(origin, unknown[0], "unknown top-level key (expected only [years.YYYY] tables)")
    years = document.get("years", {})
    if not isinstance(years, dict):
        raise CalendarOverlayError(origin, "years", "expected tables [years.YYYY]")
    return dict(_parse_overlay_year(key, table, origin=origin) for key, table in years.items())


def _read_overlay_file(path: Path) -> dict[int, _YearSchedule]:
    """Read a regulator's overlay file from disk."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise CalendarOverlayError(str(path), None, f"cannot read the overlay ({exc.strerror or exc})") from None
    return _parse_overlay(content, origin=str(path))


def _read_bundled_overlay() -> dict[int, _YearSchedule]:
    """Read the overlay shipped inside the package."""
    resource = resources.files("spotcheck.gateway").joinpath(_BUNDLED_OVERLAY)
    return _parse_overlay(resource.read_bytes(), origin=f"spotcheck.gateway/{_BUNDLED_OVERLAY}")


class WorkdayCalendar:
    """Mainland-China working days: weekdays minus public holidays plus adjusted working weekend days (调休).

    Each calendar year's schedule comes from the first of these that lists it:

    1. the extra overlay file given to the constructor (the regulator's, ``SPOTCHECK_CALENDAR_OVERLAY``);
    2. the overlay bundled with Spotcheck (``spotcheck/gateway/data/cn_calendar_overlay.toml``);
    3. the ``holidays`` package (``CN``, public category). The package is taken to know a year's official schedule
       exactly when it carries State Council special-day data for it (its ``special_public_holidays`` table, the
       transcribed yearly notices with their moved days); for any other year it only extrapolates fixed and lunar
       festivals, which is not the official schedule.

    A year none of them knows is *uncovered*: it is counted on weekends only (Saturdays and Sundays off, every
    weekday working) and deadlines that touch it are flagged provisional.

    An overlay file holds ``[years.YYYY]`` tables with ``holidays`` (every day off of that year's schedule, dates in
    that calendar year), ``workdays`` (the weekend days declared working days, optional) and ``source`` (the notice,
    e.g. ``"国办发明电〔2026〕N号"``). A listed year replaces the lower layers' schedule for that year entirely.

    Args:
        overlay_path: the regulator's extra overlay file, or None.
        bundled_overlay: apply the overlay shipped with Spotcheck (disable only to inspect the package alone).

    Raises:
        CalendarOverlayError: an overlay cannot be read or is malformed; the message names the file and key.
    """

    def __init__(self, overlay_path: str | os.PathLike[str] | None = None, *, bundled_overlay: bool = True) -> None:
        overrides: dict[int, _YearSchedule] = _read_bundled_overlay() if bundled_overlay else {}
        if overlay_path is not None:
            overrides.update(_read_overlay_file(Path(overlay_path)))
        self._overrides: dict[int, _YearSchedule] = overrides
        self._package_source = f"holidays {metadata.version('holidays')} (CN)"
        # Years for which the package transcribes an official notice (see the class docstring).
        probe = holidays.country_holidays("CN", years=())
        self._package_years = frozenset(int(year) for year in getattr(probe, "special_public_holidays", {}))
        self._package_schedules: dict[int, _YearSchedule] = {}
        self._lock = threading.Lock()

    def is_covered(self, year: int) -> bool:
        """Whether the official schedule of ``year`` is known (from an overlay or the ``holidays`` package)."""
        return year in self._overrides or year in self._package_years

    def schedule_source(self, year: int) -> str | None:
        """Where the schedule of ``year`` comes from (an overlay's ``source`` or the package), None if uncovered."""
        schedule = self._schedule(year)
        return schedule.source if schedule is not None else None

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day; in an uncovered year, whether it is Monday to Friday."""
        schedule = self._schedule(day.year)
        if schedule is not None:
            if day in schedule.workdays:
                return True
            if day in schedule.holidays:
                return False
        return day.weekday() < _SATURDAY

    def working_day_after(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start``, ``start`` itself not counted (``count`` >= 1)."""
        return self._step(start, count, direction=1)

    def working_day_before(self, start: date, count: int) -> date:
        """The ``count``-th working day before ``start``, ``start`` itself not counted (``count`` >= 1)."""
        return self._step(start, count, direction=-1)

    def working_day_on_or_after(self, day: date) -> date:
        """``day`` if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def _step(self, start: date, count: int, *, direction: int) -> date:
        if isinstance(count, bool) or count < 1:
            raise ValueError(f"count must be a positive number of working days, got {count!r}")
        day = start
        remaining = count
        while remaining:
            day += timedelta(days=direction)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def _schedule(self, year: int) -> _YearSchedule | None:
        if year in self._overrides:
            return self._overrides[year]
        if year not in self._package_years:
            return None
        schedule = self._package_schedules.get(year)
        if schedule is None:
            with self._lock:
                schedule = self._package_schedules.get(year)
                if schedule is None:
                    schedule = self._package_schedule(year)
                    self._package_schedules[year] = schedule
        return schedule

    def _package_schedule(self, year: int) -> _YearSchedule:
        # Neighbouring years too: a notice may move days across New Year (e.g. 2002's notice set 2001-12-29 working).
        observed = holidays.country_holidays("CN", years=(year - 1, year, year + 1))
        days_off = frozenset(day for day in observed if day.year == year)
        workdays = frozenset(day for day in observed.weekend_workdays if day.year == year)
        return _YearSchedule(holidays=days_off, workdays=workdays, source=self._package_source)


@cache
def default_calendar() -> WorkdayCalendar:
    """The process-wide calendar: bundled overlay plus the file named by ``SPOTCHECK_CALENDAR_OVERLAY``, if set.

    The environment is read on the first call only (the result is cached); call ``default_calendar.cache_clear()``
    after changing it.
    """
    overlay = os.environ.get(_OVERLAY_ENV)
    return WorkdayCalendar(overlay or None)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A legal or contractual deadline.

    Attributes:
        due_at: the last instant at which the act is still in time (end of the last day, Asia/Shanghai, tz-aware).
        provisional: the counting touched a year whose official holiday schedule is not known yet, so it was done on
            weekends only; recompute once the schedule is published.
        rule: the counting rule in words, e.g. ``"5 working days"`` or ``"15 days"``.
        basis: the clause the deadline rests on, e.g. ``"工商消字〔2015〕189号 三(二)"``.
    """

    due_at: datetime
    provisional: bool
    rule: str
    basis: str

    def __post_init__(self) -> None:
        if self.due_at.utcoffset() is None:
            raise ValueError("due_at must be timezone-aware")

    @property
    def due_date(self) -> date:
        """The last day of the period, as a date in Asia/Shanghai."""
        return self.due_at.astimezone(SHANGHAI).date()

    def status(
        self, now: datetime, *, due_soon_working_days: int = 1, calendar: WorkdayCalendar | None = None
    ) -> DeadlineStatus:
        """Where the deadline stands at ``now``.

        ``"overdue"`` once ``now`` is past ``due_at``; ``"due_soon"`` once no more than ``due_soon_working_days``
        working days remain, the due day included, i.e. from the end of the working day that lies that many working
        days before the due day (with 1: from the end of the previous working day, so over an intervening weekend
        or holiday too); ``"ok"`` before that. With ``due_soon_working_days=0`` a deadline is never due soon.

        Args:
            now: the instant to judge (tz-aware).
            due_soon_working_days: how many working days ahead to warn (>= 0).
            calendar: the working-day calendar; ``default_calendar()`` when None.

        Raises:
            ValueError: ``now`` is naive or ``due_soon_working_days`` is negative.
        """
        instant = _to_shanghai(now, "now")
        if isinstance(due_soon_working_days, bool) or due_soon_working_days < 0:
            raise ValueError(f"due_soon_working_days must be >= 0, got {due_soon_working_days!r}")
        if instant > self.due_at:
            return "overdue"
        if due_soon_working_days == 0:
            return "ok"
        cal = calendar if calendar is not None else default_calendar()
        last_quiet_day = cal.working_day_before(self.due_date, due_soon_working_days)
        warn_from = datetime.combine(last_quiet_day + timedelta(days=1), time.min, tzinfo=SHANGHAI)
        return "due_soon" if instant >= warn_from else "ok"


def _to_shanghai(value: datetime, argument: str) -> datetime:
    """Convert a tz-aware instant to Asia/Shanghai, refusing naive ones by the argument's name."""
    if value.utcoffset() is None:
        raise ValueError(f"{argument} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(SHANGHAI)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=SHANGHAI)


def _touches_uncovered(calendar: WorkdayCalendar, first: date, last: date) -> bool:
    return not all(calendar.is_covered(year) for year in range(first.year, last.year + 1))


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _working_days_deadline(
    event_at: datetime, working_days: int, *, argument: str, basis: str, calendar: WorkdayCalendar | None
) -> Deadline:
    event_day = _to_shanghai(event_at, argument).date()
    if isinstance(working_days, bool) or working_days < 1:
        raise ValueError(f"working_days must be a positive integer, got {working_days!r}")
    cal = calendar if calendar is not None else default_calendar()
    last_day = cal.working_day_after(event_day, working_days)
    return Deadline(
        due_at=_end_of_day(last_day),
        provisional=_touches_uncovered(cal, event_day + timedelta(days=1), last_day),
        rule=_plural(working_days, "working day"),
        basis=basis,
    )


def _calendar_days_deadline(
    event_at: datetime, days: int, *, argument: str, basis: str, calendar: WorkdayCalendar | None
) -> Deadline:
    event_day = _to_shanghai(event_at, argument).date()
    if isinstance(days, bool) or days < 1:
        raise ValueError(f"days must be a positive integer, got {days!r}")
    cal = calendar if calendar is not None else default_calendar()
    last_day = cal.working_day_on_or_after(event_day + timedelta(days=days))
    return Deadline(
        due_at=_end_of_day(last_day),
        provisional=_touches_uncovered(cal, event_day + timedelta(days=1), last_day),
        rule=_plural(days, "day"),
        basis=basis,
    )


def deadline_after_working_days(
    event_at: datetime, working_days: int, *, basis: str, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """The end of the ``working_days``-th working day after the event day (the event day itself not counted).

    Args:
        event_at: when the triggering event happened (tz-aware; its Asia/Shanghai date is the event day).
        working_days: how many working days the period lasts (>= 1).
        basis: the clause or agreement the deadline rests on.
        calendar: the working-day calendar; ``default_calendar()`` when None.

    Raises:
        ValueError: ``event_at`` is naive or ``working_days`` is not positive.
    """
    return _working_days_deadline(event_at, working_days, argument="event_at", basis=basis, calendar=calendar)


def deadline_after_days(
    event_at: datetime, days: int, *, basis: str, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """The end of the ``days``-th calendar day after the event day, moved to the next working day if it is a rest day.

    The event day itself is not counted; if the last day is a public holiday or weekend rest day, the period ends at
    the end of the first working day after it (an adjusted working weekend day is a working day and ends it).

    Args:
        event_at: when the triggering event happened (tz-aware; its Asia/Shanghai date is the event day).
        days: how many calendar days the period lasts (>= 1).
        basis: the clause or agreement the deadline rests on.
        calendar: the working-day calendar; ``default_calendar()`` when None.

    Raises:
        ValueError: ``event_at`` is naive or ``days`` is not positive.
    """
    return _calendar_days_deadline(event_at, days, argument="event_at", basis=basis, calendar=calendar)


def deadline_for_result_notice(result_received_at: datetime, *, calendar: WorkdayCalendar | None = None) -> Deadline:
    """When the regulator must have notified the test result: five working days after receiving it (三(二)).

    Counting starts the working day after the (Asia/Shanghai) day the result was received; the deadline is the end
    of the fifth working day.

    Raises:
        ValueError: ``result_received_at`` is naive.
    """
    return _working_days_deadline(
        result_received_at, 5, argument="result_received_at", basis=BASIS_RESULT_NOTICE, calendar=calendar
    )


def deadline_for_reinspection_application(
    notice_received_at: datetime, *, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """The last moment to apply for re-inspection: fifteen days after the result notice (三(三)).

    ``notice_received_at`` is when the notice was received or announced on the official website. The day itself
    is not counted; if the fifteenth day is a public holiday or rest day, the window ends at the end of the first
    working day after it. Past the deadline, the test result is final.

    Raises:
        ValueError: ``notice_received_at`` is naive.
    """
    return _calendar_days_deadline(
        notice_received_at, 15, argument="notice_received_at", basis=BASIS_REINSPECTION_APPLICATION, calendar=calendar
    )


def deadline_for_platform_answer(
    issued_at: datetime, working_days: int = 2, *, calendar: WorkdayCalendar | None = None
) -> Deadline:
    """When a platform must have answered an order or request: ``working_days`` working days after issue (五(三)).

    The default of two working days is the SLA for takedown and delisting orders; the issue day is not counted.

    Raises:
        ValueError: ``issued_at`` is naive or ``working_days`` is not positive.
    """
    return _working_days_deadline(
        issued_at, working_days, argument="issued_at", basis=BASIS_PLATFORM_ANSWER, calendar=calendar
    )
