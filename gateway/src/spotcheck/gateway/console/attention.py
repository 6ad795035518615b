"""What needs an officer's attention: pressing deadlines, cases by state, notices not delivered, in SQL.

Every figure is an aggregate query scoped in SQL to what an officer may see (:func:`visible_cases`, the same rule as
:meth:`~spotcheck.gateway.access.Principal.can_access_case`), so a page costs a handful of indexed queries however
many cases and notices the store holds. Urgency is judged by the same working-day clock the deadline API uses
(:meth:`spotcheck.gateway.workdays.Deadline.status`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Executable, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.access import BoundScope, Principal, scope_clause, visible_cases
from spotcheck.gateway.store.models import Case, Deadline, Merchant, OutboundMessage
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus, MessageStatus, RecipientKind
from spotcheck.gateway.workdays import Deadline as Clock
from spotcheck.gateway.workdays import WorkdayCalendar

__all__ = [
    "DEADLINE_KIND_LABELS",
    "STATE_LABELS",
    "UNSETTLED",
    "URGENCY_LABELS",
    "DeadlineItem",
    "DeadlineOverview",
    "NoticeBacklog",
    "StateCount",
    "basis_label",
    "cases_by_state",
    "deadline_overview",
    "due_soon_until",
    "notice_backlog",
    "rule_label",
]

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
_LIST_SIZE: Final = 20
UNSETTLED: Final = (DeadlineStatus.OPEN, DeadlineStatus.ESCALATED)
"""The statuses of a clock still awaited (escalated clocks can still be answered, late)."""
_NOT_DELIVERED: Final = (MessageStatus.PENDING, MessageStatus.DELIVERING)
_RULE: Final = re.compile(r"([0-9]+) (working days?|days?|hours?)")
_RULE_UNITS: Final = {
    "working day": "个工作日",
    "working days": "个工作日",
    "day": "日",
    "days": "日",
    "hour": "小时",
    "hours": "小时",
}
# How far ahead "due soon" can reach: N working days plus the longest run of holidays and weekends.
_LOOKAHEAD_DAYS: Final = 60

STATE_LABELS: Final[dict[str, str]] = {
    CaseState.PLANNED: "已立案",
    CaseState.PURCHASED: "已购样",
    CaseState.SEALED: "已封样",
    CaseState.SAMPLING_NOTIFIED: "已告知抽样",
    CaseState.RESULT_RECEIVED: "已收到检验结果",
    CaseState.RESULT_NOTIFIED: "已告知检验结果",
    CaseState.REINSPECTION: "复检中",
    CaseState.FINAL: "结果已确定",
    CaseState.PUBLISHED: "已公布",
    CaseState.MEASURES: "处置中",
    CaseState.CLOSED: "已结案",
}
"""Each case state in the words an officer reads, in lifecycle order."""

DEADLINE_KIND_LABELS: Final[dict[str, str]] = {
    DeadlineKind.RESULT_NOTICE: "告知检验结果",
    DeadlineKind.REINSPECTION_APPLICATION: "复检申请期",
    DeadlineKind.PLATFORM_ANSWER: "平台答复",
    "platform_acknowledgement": "平台签收",
    "hazard_notification": "危害通报",
}
"""Each legal clock in Chinese."""

URGENCY_LABELS: Final[dict[str, str]] = {
    "overdue": "已逾期",
    "due_soon": "即将到期",
    "ok": "未到期",
    "met": "已办结",
    "none": "无待办期限",
}
"""How pressing a deadline (or a case's most pressing deadline) is, in Chinese."""


def due_soon_until(now: datetime, calendar: WorkdayCalendar, working_days: int) -> datetime | None:
    """The latest due time still "due soon" at ``now`` with ``working_days`` of warning (None: nothing is).

    Found with the deadline clock's own rule (:meth:`Clock.status`), which depends only on the due day, so a
    deadline is due soon exactly when it is not overdue and due at or before the returned instant.
    """
    today = now.astimezone(SHANGHAI).date()
    last: date | None = None
    for offset in range(_LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        probe = Clock(due_at=_end_of(day), provisional=False, rule="", basis="")
        status = probe.status(now, due_soon_working_days=working_days, calendar=calendar)
        if status == "ok":
            break
        if status == "due_soon":
            last = day
    return _end_of(last) if last is not None else None


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=SHANGHAI)


# ---- deadlines -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineItem:
    """One open clock on a visible case, with what the case is about and why the clock runs."""

    case_id: str
    sample_name: str
    shop_name: str
    kind: str
    kind_label: str
    party: str
    due_at: datetime
    rule: str
    basis: str
    provisional: bool
    urgency: str

    @property
    def rule_label(self) -> str:
        """The counting rule in Chinese: ``5 working days`` reads ``5 个工作日``, ``15 days`` reads ``15 日``."""
        return rule_label(self.rule)


_PHRASED_RULES: Final = (
    (re.compile(r"acknowledged within ([0-9]+) h(?: \(立即\))?"), "{0} 小时内签收（立即）"),
    (re.compile(r"carried out within ([0-9]+) h(?: \(立即\))?"), "{0} 小时内办结并报告（立即）"),
    (re.compile(r"([0-9]+) days from receipt \(receipt pending\)"), "自收到之日起 {0} 日（尚未确认收到）"),
    (re.compile(r"([0-9]+) days from receipt (.+)"), "自收到之日起 {0} 日（{1} 收到）"),
)


def rule_label(rule: str) -> str:
    """A deadline's counting rule (the clocks write it in English) as an officer reads it; others unchanged."""
    text = rule.strip()
    found = _RULE.fullmatch(text)
    if found is not None:
        count, unit = found.groups()
        return f"{count} {_RULE_UNITS[unit]}"
    for pattern, words in _PHRASED_RULES:
        phrased = pattern.fullmatch(text)
        if phrased is not None:
            return words.format(*phrased.groups())
    return rule


def basis_label(basis: str) -> str:
    """A deadline's legal basis as an officer reads it (the platform answer's contractual part in Chinese)."""
    return basis.replace("; platform answer SLA", "；平台答复时限约定")


@dataclass(frozen=True)
class DeadlineOverview:
    """Overdue and due-soon clocks: how many of each, and the most urgent of each."""

    overdue_count: int
    due_soon_count: int
    overdue: list[DeadlineItem]
    due_soon: list[DeadlineItem]
    working_days: int


@dataclass(frozen=True)
class _OverviewStatements:
    counts: Executable
    overdue: Executable
    due_soon: Executable


@functools.cache
def _overview_statements(ranges: int | None) -> _OverviewStatements:
    """The overview's three statements for a scope of ``ranges`` ranges, built once.

    They bind ``now``, ``until``, ``latest``, ``limit`` and the scope's values (:attr:`BoundScope.params`).

    Each list reads the ids of its first ``limit`` clocks in due order from the index alone, then those clocks.
    """
    overdue_when = Deadline.due_at < bindparam("now")
    soon_when = and_(Deadline.due_at >= bindparam("now"), Deadline.due_at <= bindparam("until"))
    pressing = (
        Deadline.status.in_(UNSETTLED),
        Deadline.due_at <= bindparam("latest"),
        scope_clause(Deadline.authority_id, Deadline.jurisdiction_division, ranges),
    )
    is_overdue = overdue_when.label("is_overdue")
    in_due_order = (Deadline.due_at, Deadline.id)

    def most_urgent(when: ColumnElement[bool]) -> Executable:
        first = select(Deadline.id).where(*pressing, when).order_by(*in_due_order).limit(bindparam("limit"))
        return (
            select(Deadline, Case.sample_name, Merchant.shop_name)
            .join(Case, Case.id == Deadline.case_id)
            .join(Merchant, Merchant.id == Case.merchant_id)
            .where(Deadline.id.in_(first.scalar_subquery()))
            .order_by(*in_due_order)
        )

    return _OverviewStatements(
        counts=select(is_overdue, func.count()).where(*pressing, or_(overdue_when, soon_when)).group_by(is_overdue),
        overdue=most_urgent(overdue_when),
        due_soon=most_urgent(soon_when),
    )


async def deadline_overview(
    session: AsyncSession,
    principal: Principal,
    calendar: WorkdayCalendar,
    *,
    now: datetime,
    working_days: int = 1,
    limit: int = _LIST_SIZE,
) -> DeadlineOverview:
    """Counts and the ``limit`` most urgent open clocks, overdue and due within ``working_days`` working days.

    One grouped count of the pressing clocks, then, for each urgency that has any, the ids of its first ``limit``
    clocks in due order and only then those clocks with their case's product and shop. Both read the ``(status,
    due_at, scope, id)`` index alone (the clocks carry their case's scope), so no pressing clock is joined to its
    case except the few listed.
    """
    until = due_soon_until(now, calendar, working_days)
    scope = BoundScope.of(principal)
    statements = _overview_statements(scope.ranges)
    params: dict[str, Any] = {
        **scope.params,
        "now": now,
        # Nothing is due soon without an ``until``: a range that ends before it starts.
        "until": until if until is not None else now - timedelta(microseconds=1),
        # Both kinds end at the later of now and ``until``: a range the (status, due_at) index serves.
        "latest": until if until is not None and until > now else now,
        "limit": limit,
    }
    counts: dict[bool, int] = dict((await session.execute(statements.counts, params)).all())
    overdue_count, due_soon_count = int(counts.get(True, 0)), int(counts.get(False, 0))

    async def most_urgent(statement: Executable, count: int) -> list[Any]:
        return list(await session.execute(statement, params)) if count else []

    overdue_rows = await most_urgent(statements.overdue, overdue_count)
    soon_rows = await most_urgent(statements.due_soon, due_soon_count)

    def item(row: Any, urgency: str) -> DeadlineItem:
        clock: Deadline = row[0]
        return DeadlineItem(
            case_id=clock.case_id,
            sample_name=row[1],
            shop_name=row[2],
            kind=clock.kind,
            kind_label=DEADLINE_KIND_LABELS.get(clock.kind, clock.kind),
            party=clock.party,
            due_at=clock.due_at,
            rule=clock.rule,
            basis=clock.basis,
            provisional=clock.provisional,
            urgency=urgency,
        )

    return DeadlineOverview(
        overdue_count=overdue_count,
        due_soon_count=due_soon_count,
        overdue=[item(row, "overdue") for row in overdue_rows],
        due_soon=[item(row, "due_soon") for row in soon_rows],
        working_days=working_days,
    )


# ---- cases by state --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateCount:
    """How many visible cases stand in one state."""

    state: str
    label: str
    count: int


async def cases_by_state(session: AsyncSession, principal: Principal) -> list[StateCount]:
    """Every lifecycle state in order with its count of visible cases (zero included).

    The scope is a filter on the count, not a WHERE clause: the case table's ``(state, authority_id,
    jurisdiction_division)`` index then answers by itself, read once in state order, where SQLite would otherwise
    merge two indexes of the OR and fetch every visible case's row.
    """
    rows = await session.execute(select(Case.state, func.count().filter(visible_cases(principal))).group_by(Case.state))
    counts = {state: int(count) for state, count in rows.all()}
    return [StateCount(state=s, label=STATE_LABELS.get(s, s), count=counts.get(s, 0)) for s in CaseState]


# ---- notices not delivered -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeBacklog:
    """Notices to one recipient that are not delivered yet (pending or in flight) or dead-lettered."""

    recipient_kind: str
    recipient_id: str
    recipient_name: str
    undelivered: int
    dead: int

    @property
    def platform_id(self) -> str | None:
        """The platform's id when the recipient is a platform (its delivery health has a page)."""
        return self.recipient_id if self.recipient_kind == RecipientKind.PLATFORM else None


@functools.cache
def _backlog_statement(ranges: int | None) -> Executable:
    """Notices not delivered and dead letters per recipient, for a scope of ``ranges`` ranges (built once)."""
    undelivered = func.count().filter(OutboundMessage.status.in_(_NOT_DELIVERED))
    dead = func.count().filter(OutboundMessage.status == MessageStatus.DEAD)
    scoped = scope_clause(OutboundMessage.authority_id, OutboundMessage.jurisdiction_division, ranges)
    return (
        select(
            OutboundMessage.recipient_kind,
            OutboundMessage.recipient_id,
            func.max(OutboundMessage.recipient_name),
            undelivered,
            dead,
        )
        .where(
            OutboundMessage.status.in_((*_NOT_DELIVERED, MessageStatus.DEAD)),
            # A notice about no case concerns every regulator. Told by its case, not by a missing copy of the
            # scope: a notice that lacked its copy stays hidden instead of showing to every regulator.
            or_(OutboundMessage.case_id.is_(None), scoped),
        )
        .group_by(OutboundMessage.recipient_kind, OutboundMessage.recipient_id)
    )


async def notice_backlog(session: AsyncSession, principal: Principal) -> list[NoticeBacklog]:
    """Per recipient, notices not delivered and dead letters, most dead letters first.

    A notice about a case counts where the case is visible; one about no case concerns every regulator, as in
    the delivery API. Delivered notices are never read: the filter is on the indexed status, and the rest is read
    from the same index (``ix_outbound_due`` carries the recipient and the case's scope).
    """
    scope = BoundScope.of(principal)
    rows = await session.execute(_backlog_statement(scope.ranges), scope.params)
    backlog = [
        NoticeBacklog(
            recipient_kind=kind, recipient_id=rid, recipient_name=name or rid, undelivered=int(u), dead=int(d)
        )
        for kind, rid, name, u, d in rows.all()
    ]
    return sorted(backlog, key=lambda b: (-b.dead, -b.undelivered, b.recipient_kind, b.recipient_id))
