"""The re-inspection windows of a failing result, one per party, counted from that party's receipt (三(三)).

The merchant and the labelled manufacturer each may apply within fifteen days of *receiving* the result notice,
or of the website announcement. A party's receipt is, in this order: the acknowledgement of a notice addressed
to it (the platform relays the merchant's); else the moment a notice reached the party's own system (its
e-mail, its shop's platform); else the announcement's publication. Until one of these is known the window is
provisional (counted from sending) and cannot lapse. The result is final when every window has lapsed or been
waived in writing; an application settles its party's window and awaits the regulator's decision.

Both ways an application arrives (recorded by an officer, relayed by a platform) go through
:func:`record_application`; the rows change in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway import workdays as clocks
from spotcheck.gateway.delivery.service import Recipient, enqueue
from spotcheck.gateway.store.models import (
    Case,
    Deadline,
    InboundMessage,
    Manufacturer,
    Merchant,
    OutboundMessage,
    ReinspectionApplication,
)
from spotcheck.gateway.store.models_duties import ReinspectionWaiver
from spotcheck.gateway.store.models_public import EvidenceFile
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus, MessageStatus, RecipientKind
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import ProblemError, field_error
from spotcheck.gateway.workdays import SHANGHAI, WorkdayCalendar
from spotcheck.schemas import decode_notice

__all__ = [
    "Application",
    "PartyRole",
    "Waiver",
    "announce_unreached",
    "beijing",
    "open_windows",
    "record_application",
    "record_waiver",
    "refresh_windows",
    "settle_lapsed_windows",
    "unsettled_windows",
]

PartyRole = Literal["merchant", "manufacturer"]
"""Who may apply for re-inspection (三(三)): the sampled merchant or the labelled manufacturer."""

_ROLE_NAMES: dict[str, str] = {"merchant": "被抽样经营者", "manufacturer": "标称生产者"}
_ANNOUNCEMENT = "announcement"


def beijing(moment: datetime) -> str:
    """A moment as a person reads it: Beijing time, to the minute (``2026-12-22 23:59``).

    A moment at the very end or start of Python's range (a platform's ``9999-12-31T23:59:59Z``) has no Beijing time;
    it is shown as sent, so the refusal that quotes it is still written.
    """
    try:
        return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    except OverflowError:
        return moment.isoformat()


@dataclass(frozen=True)
class Application:
    """A written re-inspection application, however it arrived."""

    applicant_role: PartyRole
    applicant_name: str
    applied_at: datetime
    received_via: Literal["direct", "platform"]
    document_sha256: str | None
    reason: str


@dataclass(frozen=True)
class Waiver:
    """A party's written waiver: its statement is an evidence file of the case or a reply a platform relayed."""

    party_role: PartyRole
    waived_by: str
    statement_sha256: str | None
    relayed_reply_id: str | None
    note: str


def open_windows(case: Case, roles: list[PartyRole], sent_at: datetime, calendar: WorkdayCalendar) -> list[Deadline]:
    """One provisional window per party, counted from sending until that party's receipt is known."""
    clock = clocks.deadline_for_reinspection_application(sent_at, calendar=calendar)
    return [
        Deadline(
            id=new_id("dl"),
            case_id=case.id,
            **case.scope(),
            kind=DeadlineKind.REINSPECTION_APPLICATION,
            party=role,
            due_at=clock.due_at,
            provisional=True,
            rule="15 days from receipt (receipt pending)",
            basis=clock.basis,
            status=DeadlineStatus.OPEN,
        )
        for role in roles
    ]


async def _receipts(session: AsyncSession, case: Case) -> dict[str, datetime]:
    """When each party received the result notice, by the order of proof the module names."""
    rows = await session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.case_id == case.id, OutboundMessage.message_type == "result.notice"
        )
    )
    acknowledged: dict[str, datetime] = {}
    delivered: dict[str, datetime] = {}
    announced: dict[str, datetime] = {}
    for row in rows:
        role = msgspec.json.decode(row.body).get("data", {}).get("addressee_role")
        if role not in _ROLE_NAMES:
            continue
        if row.acknowledged_at is not None:
            acknowledged[role] = min(acknowledged.get(role, row.acknowledged_at), row.acknowledged_at)
        if row.status == MessageStatus.DELIVERED and row.delivered_at is not None:
            target = announced if row.adapter == _ANNOUNCEMENT else delivered
            target[role] = min(target.get(role, row.delivered_at), row.delivered_at)
    return {**announced, **delivered, **acknowledged}


async def announce_unreached(session: AsyncSession, case: Case) -> list[OutboundMessage]:
    """Announce the result notice to a party every notice to which came back undeliverable (三(二) 公告通知).

    Its window then runs from the announcement's publication; until then it stays provisional, so a result is never
    final against a party that was not reached. Answers the announcements written (the caller audits them).
    """
    rows = await session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.case_id == case.id, OutboundMessage.message_type == "result.notice")
        .order_by(OutboundMessage.id)
    )
    by_role: dict[str, list[OutboundMessage]] = {}
    for row in rows:
        role = msgspec.json.decode(row.body).get("data", {}).get("addressee_role")
        if role in _ROLE_NAMES:
            by_role.setdefault(role, []).append(row)
    announced: list[OutboundMessage] = []
    for role, sent in by_role.items():
        if any(r.adapter == _ANNOUNCEMENT for r in sent) or any(r.status != MessageStatus.DEAD for r in sent):
            continue
        party = await _party(session, case, role)
        if party is None:
            continue
        reason = "通知无法送达 (every notice came back undeliverable)"
        recipient = Recipient(party[0], party[1], party[2], _ANNOUNCEMENT, {"reason": reason})
        announced.append(await enqueue(session, case=case, message=decode_notice(sent[0].body), recipient=recipient))
    return announced


async def _party(session: AsyncSession, case: Case, role: str) -> tuple[RecipientKind, str, str] | None:
    if role == "merchant":
        merchant = await session.get(Merchant, case.merchant_id)
        return (RecipientKind.MERCHANT, merchant.id, merchant.shop_name) if merchant else None
    maker = await session.get(Manufacturer, case.manufacturer_id) if case.manufacturer_id else None
    return (RecipientKind.MANUFACTURER, maker.id, maker.name) if maker else None


async def refresh_windows(session: AsyncSession, case: Case, calendar: WorkdayCalendar) -> list[Deadline]:
    """Count each open window from its party's receipt once known; the case shows the latest end. Returns them all."""
    windows = list(
        await session.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == DeadlineKind.REINSPECTION_APPLICATION)
        )
    )
    receipts = await _receipts(session, case)
    for window in windows:
        received = receipts.get(window.party)
        if window.status != DeadlineStatus.OPEN or received is None:
            continue
        clock = clocks.deadline_for_reinspection_application(received, calendar=calendar)
        window.due_at = clock.due_at
        window.provisional = clock.provisional
        window.rule = f"15 days from receipt {beijing(received)}"
    if windows:
        case.reinspection_deadline = max(w.due_at for w in windows)
    return windows


def unsettled_windows(windows: list[Deadline]) -> list[Deadline]:
    """The windows still open: a party may still apply."""
    return [w for w in windows if w.status in (DeadlineStatus.OPEN, DeadlineStatus.ESCALATED)]


def settle_lapsed_windows(windows: list[Deadline], now: datetime) -> None:
    """Close every window past its end whose party's receipt is known (a provisional window cannot lapse)."""
    for window in unsettled_windows(windows):
        if not window.provisional and window.due_at < now:
            window.status = DeadlineStatus.LAPSED
            window.met_at = now


def _window_for(windows: list[Deadline], role: str, field: str) -> Deadline:
    for window in windows:
        if window.party == role:
            return window
    raise field_error(
        409, field, f"{_ROLE_NAMES.get(role, role)}没有复检申请期限 (no window for {role})", code="no-window"
    )


async def record_application(
    session: AsyncSession, case: Case, application: Application, calendar: WorkdayCalendar, *, field: str
) -> ReinspectionApplication:
    """Add a party's application inside its window (三(三)); 409 naming ``field`` when its window is closed."""
    if case.state != CaseState.RESULT_NOTIFIED or case.conclusion != "fail":
        raise ProblemError(409, "no-window", "re-inspection can be applied for only while a failing result is notified")
    windows = await refresh_windows(session, case, calendar)
    window = _window_for(windows, application.applicant_role, field.replace("applied_at", "applicant_role"))
    closed = window.status not in (DeadlineStatus.OPEN, DeadlineStatus.ESCALATED)
    late = not window.provisional and application.applied_at > window.due_at
    if closed or late:
        raise field_error(
            409,
            field,
            f"{_ROLE_NAMES[application.applicant_role]}的复检申请期限已于 {beijing(window.due_at)}（北京时间）届满"
            f"或已结束（{window.status}）；检验结果对其为最终结果 (三(三))",
            code="window-closed",
        )
    row = ReinspectionApplication(
        id=new_id("rei"),
        case_id=case.id,
        applicant_role=application.applicant_role,
        applicant_name=application.applicant_name,
        applied_at=application.applied_at,
        received_via=application.received_via,
        document_sha256=application.document_sha256,
        reason=application.reason,
    )
    session.add(row)
    window.status = DeadlineStatus.MET
    window.met_at = utcnow()
    return row


async def record_waiver(
    session: AsyncSession, case: Case, waiver: Waiver, calendar: WorkdayCalendar, *, recorded_by: str
) -> ReinspectionWaiver:
    """Close a party's window on its written waiver (三(三) 放弃复检); 422 naming the field without a statement."""
    if waiver.statement_sha256 is None and waiver.relayed_reply_id is None:
        raise field_error(
            422,
            "statement_sha256",
            "放弃复检须有当事人的书面声明：上传声明文件后给出其 SHA-256，或给出平台转达的答复编号 relayed_reply_id",
        )
    if waiver.statement_sha256 is not None:
        stored = await session.scalar(
            select(EvidenceFile.id).where(
                EvidenceFile.case_id == case.id, EvidenceFile.sha256 == waiver.statement_sha256
            )
        )
        if stored is None:
            raise field_error(422, "statement_sha256", "本案证据库中没有该文件 (no such evidence file in this case)")
    if waiver.relayed_reply_id is not None:
        reply = await session.get(InboundMessage, waiver.relayed_reply_id)
        if reply is None or reply.case_id != case.id:
            raise field_error(422, "relayed_reply_id", "不是本案收到的平台答复 (not a reply received on this case)")
    windows = await refresh_windows(session, case, calendar)
    window = _window_for(windows, waiver.party_role, "party_role")
    if window.status not in (DeadlineStatus.OPEN, DeadlineStatus.ESCALATED):
        raise field_error(
            409,
            "party_role",
            f"{_ROLE_NAMES[waiver.party_role]}的复检申请期限已结束（{window.status}）",
            code="window-closed",
        )
    row = ReinspectionWaiver(
        id=new_id("wvr"),
        case_id=case.id,
        party_role=waiver.party_role,
        waived_by=waiver.waived_by,
        statement_sha256=waiver.statement_sha256,
        relayed_reply_id=waiver.relayed_reply_id,
        recorded_by=recorded_by,
        note=waiver.note,
    )
    session.add(row)
    window.status = DeadlineStatus.WAIVED
    window.met_at = utcnow()
    return row
