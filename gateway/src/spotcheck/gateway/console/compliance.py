"""Platform compliance and the whole dashboard (工作台) read at one moment.

Platform compliance counts the platform-answer clocks (requests and orders sent to a platform, 五(三)) issued in a
window: a clock is *decided* once answered or past due; it is *on time* when answered by its due time. The share
is on time / decided; the median answer time runs from issue to answer over the answered ones. Like everything on
the dashboard it is scoped in SQL to the officer's jurisdiction
(:class:`~spotcheck.gateway.console.attention.BoundScope`) and aggregated by the database.
"""

from __future__ import annotations

import functools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Executable, Float, Integer, String, and_, bindparam, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import BoundScope, Principal, scope_clause
from spotcheck.gateway.console.attention import (
    DEADLINE_KIND_LABELS,
    STATE_LABELS,
    URGENCY_LABELS,
    DeadlineOverview,
    NoticeBacklog,
    StateCount,
    cases_by_state,
    deadline_overview,
    notice_backlog,
)
from spotcheck.gateway.store.models import Deadline, Platform
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus
from spotcheck.gateway.store.types import UTCDateTime
from spotcheck.gateway.workdays import WorkdayCalendar

# The labels live with the queries that use them; case pages import them from here too.
__all__ = [
    "DEADLINE_KIND_LABELS",
    "STATE_LABELS",
    "URGENCY_LABELS",
    "WEEKS",
    "ComplianceFigure",
    "Dashboard",
    "PlatformCompliance",
    "format_duration",
    "platform_compliance",
    "read_dashboard",
]

WEEKS: Final = 13
"""Weekly buckets of the compliance chart: thirteen weeks, the 90-day window."""
_ANSWERED: Final = (DeadlineStatus.MET, DeadlineStatus.MET_LATE)
_PLATFORM_PARTY: Final = "platform:"
_DAYS_30: Final = 30
_DAYS_90: Final = 90
# A platform's answer clocks: its answer to a request, and where an order is to be carried out at once, its
# acknowledgement (the deadline API's compliance counts the same kinds).
_PLATFORM_KINDS: Final = tuple(kind for kind in DeadlineKind if kind.value.startswith("platform_"))


# ---- platform compliance ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplianceFigure:
    """Platform-answer clocks in one window: decided, answered on time, and the median answer time."""

    decided: int
    on_time: int
    median_answer: timedelta | None = None

    @property
    def share(self) -> float | None:
        """On time / decided, or None when nothing was decided in the window."""
        return self.on_time / self.decided if self.decided else None

    @property
    def percent(self) -> str:
        """The share as a whole percentage (``50%``), or ``—`` when nothing was decided."""
        return "—" if self.share is None else f"{self.share * 100:.0f}%"


@dataclass
class PlatformCompliance:
    """One platform's answers over the last 30 and 90 days, and week by week (oldest first)."""

    platform_id: str
    platform_name: str
    last_30: ComplianceFigure = field(default_factory=lambda: ComplianceFigure(0, 0))
    last_90: ComplianceFigure = field(default_factory=lambda: ComplianceFigure(0, 0))
    weekly: list[ComplianceFigure] = field(default_factory=lambda: [ComplianceFigure(0, 0)] * WEEKS)


def _epoch_seconds(span: ColumnElement[Any]) -> ColumnElement[float]:
    """A PostgreSQL interval in seconds, as a double: ``EXTRACT`` answers ``numeric``, several times slower here."""
    return func.date_part("epoch", span, type_=Float)


@functools.cache
def _compliance_statement(dialect: str, ranges: int | None) -> Executable:
    """The window's clocks per platform and day, for one engine and a scope of ``ranges`` ranges (built once).

    Binds ``now``, ``since`` and the scope's values. Each row: party, day index (whole days from issue back to
    ``now``, 0 for the last 24 hours), clocks decided, clocks decided on time, and the answer times in seconds of
    the answered ones (an answered platform clock is one with ``met_at``), comma-joined.
    """
    now = bindparam("now", type_=UTCDateTime())
    if dialect == "postgresql":
        days = cast(func.floor(_epoch_seconds(now - Deadline.created_at) / 86400), Integer)
        seconds: ColumnElement[Any] = _epoch_seconds(Deadline.met_at - Deadline.created_at)
    else:
        days = cast(func.julianday(now) - func.julianday(Deadline.created_at), Integer)
        seconds = (func.julianday(Deadline.met_at) - func.julianday(Deadline.created_at)) * 86400.0
    day = days.label("day")
    decided = or_(Deadline.status.in_(_ANSWERED), Deadline.due_at < now)
    on_time = Deadline.status == DeadlineStatus.MET
    return (
        select(
            Deadline.party,
            day,
            func.sum(case((decided, 1), else_=0)),
            func.sum(case((and_(decided, on_time), 1), else_=0)),
            func.aggregate_strings(case((Deadline.met_at.is_not(None), cast(seconds, String)), else_=None), ","),
        )
        .where(
            Deadline.kind.in_(_PLATFORM_KINDS),
            Deadline.created_at > bindparam("since", type_=UTCDateTime()),
            scope_clause(Deadline.authority_id, Deadline.jurisdiction_division, ranges),
        )
        .group_by(Deadline.party, day)
    )


def _sum(days: dict[int, tuple[int, int]], first: int, last: int) -> ComplianceFigure:
    decided = sum(days.get(day, (0, 0))[0] for day in range(first, last + 1))
    on_time = sum(days.get(day, (0, 0))[1] for day in range(first, last + 1))
    return ComplianceFigure(decided, on_time)


async def platform_compliance(
    session: AsyncSession, principal: Principal, *, now: datetime
) -> list[PlatformCompliance]:
    """Per platform with clocks on visible cases in the last 90 days: 30-day, 90-day and weekly figures.

    Worst 90-day share first. The clocks issued in the last 91 days are read once, from the index on ``(kind,
    created_at, …)`` which carries every column used here (:func:`_counts_and_spans`): per platform and day the
    clocks decided and on time, from which the windows and weeks are summed, and the answer times, whose medians
    are taken here.
    """
    per_day: dict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
    spans_90, spans_30 = await _counts_and_spans(session, principal, now, per_day)
    figures: dict[str, PlatformCompliance] = {}
    for party, days in per_day.items():
        figures[party] = PlatformCompliance(
            platform_id=party.removeprefix(_PLATFORM_PARTY),
            platform_name=party.removeprefix(_PLATFORM_PARTY),
            last_30=_sum(days, 0, 29),
            last_90=_sum(days, 0, 89),
            # Oldest week first: week w back covers days 7w to 7w + 6.
            weekly=[_sum(days, 7 * w, 7 * w + 6) for w in reversed(range(WEEKS))],
        )
    if not figures:
        return []
    for party, entry in figures.items():
        entry.last_90 = _with_median(entry.last_90, spans_90.get(party))
        entry.last_30 = _with_median(entry.last_30, spans_30.get(party))
    await _name_platforms(session, figures.values())
    return sorted(figures.values(), key=_worst_first)


def _worst_first(entry: PlatformCompliance) -> tuple[float, str]:
    share = entry.last_90.share
    return (share if share is not None else 2.0, entry.platform_id)


async def _counts_and_spans(
    session: AsyncSession, principal: Principal, now: datetime, per_day: dict[str, dict[int, tuple[int, int]]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """One pass over the window's clocks, grouped by platform and day: the counts (into ``per_day``), answer times.

    Each group carries its day, how many of its clocks were decided and on time, and the answer times in seconds
    of those answered (an answered platform clock is one with ``met_at``) as one comma-joined string, computed in
    SQL as plain seconds. The database reads the clocks once, from one index that carries their case's scope too,
    and hands back a row per platform and day (a few hundred) instead of a row per clock (thousands, whose reading
    was most of the dashboard's time); medians are taken here, as SQLite has no ordered-set aggregate. A day index
    below 30 (or 90) is exactly a clock issued within the last 30 (or 90) days. Returns the answer times per party
    over 90 and over 30 days.
    """
    scope = BoundScope.of(principal)
    statement = _compliance_statement(session.get_bind().dialect.name, scope.ranges)
    # Plain rows through the session's connection: the ORM's row loading would only slow them.
    connection = await session.connection()
    rows = await connection.execute(statement, {**scope.params, "now": now, "since": now - timedelta(weeks=WEEKS)})
    spans_90: dict[str, list[float]] = defaultdict(list)
    spans_30: dict[str, list[float]] = defaultdict(list)
    for party, index, n_decided, n_on_time, spans in rows.all():
        per_day[party][int(index)] = (int(n_decided), int(n_on_time))
        if spans and int(index) < _DAYS_90:
            answered = [float(span) for span in spans.split(",")]
            spans_90[party].extend(answered)
            if int(index) < _DAYS_30:
                spans_30[party].extend(answered)
    return spans_90, spans_30


def _with_median(figure: ComplianceFigure, spans: Sequence[float] | None) -> ComplianceFigure:
    if not spans:
        return figure
    # To the millisecond: SQLite's julianday arithmetic is exact to a few tens of microseconds only.
    return ComplianceFigure(figure.decided, figure.on_time, timedelta(seconds=round(statistics.median(spans), 3)))


async def _name_platforms(session: AsyncSession, entries: Any) -> None:
    by_id = {entry.platform_id: entry for entry in entries}
    rows = await session.execute(select(Platform.id, Platform.name).where(Platform.id.in_(list(by_id))))
    for platform_id, name in rows.all():
        by_id[platform_id].platform_name = name


def format_duration(span: timedelta | None) -> str:
    """A duration as an officer reads it: ``2 天 3 小时``, ``5 小时 20 分``, ``45 分``; ``—`` for none."""
    if span is None:
        return "—"
    minutes = max(0, round(span.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时"
    if hours:
        return f"{hours} 小时 {mins} 分"
    return f"{mins} 分"


# ---- the whole dashboard ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """Everything the 工作台 shows, read at one moment for one officer."""

    now: datetime
    deadlines: DeadlineOverview
    states: list[StateCount]
    backlog: list[NoticeBacklog]
    platforms: list[PlatformCompliance]

    @property
    def open_cases(self) -> int:
        """Cases not closed yet."""
        return sum(s.count for s in self.states if s.state != CaseState.CLOSED)

    @property
    def undelivered(self) -> int:
        """Notices not delivered yet, over every recipient."""
        return sum(b.undelivered for b in self.backlog)

    @property
    def dead(self) -> int:
        """Dead-lettered notices, over every recipient."""
        return sum(b.dead for b in self.backlog)

    def chart(self) -> dict[str, Any]:
        """The compliance chart's data: week starts (Unix seconds) and, per platform, the weekly on-time share in %."""
        starts = [int((self.now - timedelta(weeks=WEEKS - i)).timestamp()) for i in range(WEEKS)]
        return {
            "weeks": starts,
            "series": [
                {
                    "label": entry.platform_name,
                    "values": [None if w.share is None else round(w.share * 100, 1) for w in entry.weekly],
                    "decided": [w.decided for w in entry.weekly],
                }
                for entry in self.platforms
            ],
        }

    def week_starts(self) -> list[datetime]:
        """The first moment of each weekly bucket, oldest first (for the table under the chart)."""
        return [self.now - timedelta(weeks=WEEKS - i) for i in range(WEEKS)]


async def read_dashboard(
    session: AsyncSession, principal: Principal, calendar: WorkdayCalendar, *, now: datetime, working_days: int = 1
) -> Dashboard:
    """The dashboard for ``principal`` at ``now``: a fixed handful of aggregate queries."""
    return Dashboard(
        now=now,
        deadlines=await deadline_overview(session, principal, calendar, now=now, working_days=working_days),
        states=await cases_by_state(session, principal),
        backlog=await notice_backlog(session, principal),
        platforms=await platform_compliance(session, principal, now=now),
    )
