"""Escalation of lapsed answers: the platform reminded, its compliance contact and the officer e-mailed (五(三)).

A platform's deadline that lapses is escalated once: a ``deadline.reminder`` goes to the platform through its
own channel, the same reminder to its compliance contact's e-mail, and to the responsible officer (the case's
authority's contact e-mail); the deadline stays visible (overdue) in ``GET /v1/deadlines``. When the deadline
lapses a second time (the reminder gave the platform its original time again, at least an hour, and that ran out
too) the delay is recorded as a 拖延 finding
against the platform, which counts in its compliance figures, and everyone is reminded again. Everything is
written in the caller's transaction, through the outbox, with its audit records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.service import AuditEntry, append_audit_many, message_entry
from spotcheck.gateway.deadlines.windows import beijing
from spotcheck.gateway.delivery.service import Recipient, enqueue
from spotcheck.gateway.legal import basis
from spotcheck.gateway.store.models import Authority, Case, Deadline, OperationalEvent, OutboundMessage, Platform
from spotcheck.gateway.store.models_duties import AuthorityChannel, PlatformFinding
from spotcheck.gateway.store.statuses import DeadlineKind, DeadlineStatus, RecipientKind
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.schemas import AuthorityRef, DeadlineReminder, DeadlineReminderData

__all__ = ["DELAY", "Escalated", "escalate_lapsed"]

DELAY = "拖延"
"""The finding recorded against a platform whose order's deadline lapsed twice (五(三) 不得拒绝或者拖延)."""

SWEEPER = "system:deadlines"
_ESCALATED_KINDS = (DeadlineKind.PLATFORM_ANSWER, DeadlineKind.PLATFORM_ACKNOWLEDGEMENT, DeadlineKind.RESULT_NOTICE)
_PLATFORM_KINDS = (DeadlineKind.PLATFORM_ANSWER, DeadlineKind.PLATFORM_ACKNOWLEDGEMENT)
_ORDER_TYPES = frozenset(
    {"stop_sale.order", "delisting.order", "takedown.order", "records.request", "merchant.identity_request"}
)
_TITLES = {
    "stop_sale.order": "责令停止销售通知",
    "delisting.order": "停止销售名单通知",
    "takedown.order": "删除、屏蔽、断开链接通知",
    "records.request": "交易记录协查函",
    "merchant.identity_request": "经营者信息核验函",
}
_MIN_SECOND_PERIOD = timedelta(hours=1)
_SECOND = 2


@dataclass(frozen=True)
class Escalated:
    """What one sweep escalated: first lapses, and second lapses recorded as findings."""

    escalated: int
    findings: int


async def escalate_lapsed(session: AsyncSession, moment: datetime) -> Escalated:
    """Escalate first lapses and record second lapses of platform deadlines as 拖延 findings."""
    first = (
        await session.scalars(
            select(Deadline).where(
                Deadline.status == DeadlineStatus.OPEN,
                Deadline.due_at < moment,
                Deadline.kind.in_(_ESCALATED_KINDS),
            )
        )
    ).all()
    for row in first:
        await _escalate(session, row, moment, lapse=1)
    again = (
        await session.scalars(
            select(Deadline).where(Deadline.status == DeadlineStatus.ESCALATED, Deadline.kind.in_(_PLATFORM_KINDS))
        )
    ).all()
    findings = 0
    for row in again:
        # The reminder gives the platform its original time again; past that the delay is a finding.
        period = max(row.due_at - row.created_at, _MIN_SECOND_PERIOD)
        if row.escalated_at is None or moment <= row.escalated_at + period:
            continue
        known = await session.scalar(
            select(PlatformFinding.id).where(PlatformFinding.deadline_id == row.id, PlatformFinding.kind == DELAY)
        )
        if known is None:
            await _escalate(session, row, moment, lapse=2)
            findings += 1
    return Escalated(escalated=len(first), findings=findings)


async def _escalate(session: AsyncSession, row: Deadline, moment: datetime, *, lapse: Literal[1, 2]) -> None:
    case = await session.get(Case, row.case_id)
    assert case is not None  # noqa: S101 - foreign key
    if lapse == 1:
        row.status = DeadlineStatus.ESCALATED
        row.escalated_at = moment
    order = await session.get(OutboundMessage, row.message_id) if row.message_id else None
    platform = None
    if row.party.startswith("platform:"):
        platform = await session.get(Platform, row.party.removeprefix("platform:"))
    sent: list[OutboundMessage] = []
    if platform is not None and order is not None and order.message_type in _ORDER_TYPES:
        reminder = await _reminder(session, case, row, order, platform, lapse)
        sent.extend(
            [
                await enqueue(session, case=case, message=reminder, recipient=recipient)
                for recipient in await _recipients(session, case, platform)
            ]
        )
    kind = f"overdue.{row.kind}" if lapse == 1 else "finding.delay"
    detail = {
        "deadline": row.id,
        "due_at": row.due_at.isoformat(),
        "party": row.party,
        "message": row.message_id,
        "lapse": lapse,
        "reminders": [m.id for m in sent],
    }
    session.add(
        OperationalEvent(
            id=new_id("evt"),
            kind=kind,
            case_id=case.id,
            platform_id=platform.id if platform else None,
            detail=detail,
        )
    )
    if lapse == _SECOND and platform is not None:
        session.add(
            PlatformFinding(
                id=new_id("fnd"),
                platform_id=platform.id,
                case_id=case.id,
                deadline_id=row.id,
                message_id=row.message_id,
                kind=DELAY,
                order_type=order.message_type if order else row.kind,
                basis=basis("五(三)"),
                detail=f"{_what(row)}期限 {beijing(row.due_at)}（北京时间）两次届满仍未履行",
            )
        )
    action = "deadline.escalated" if lapse == 1 else "platform.finding"
    await append_audit_many(
        session,
        [
            AuditEntry(SWEEPER, action, row.id, {"case_id": case.id, "kind": row.kind, **detail}),
            *(message_entry("out", m.id, m.timestamp, m.body, actor=SWEEPER) for m in sent),
        ],
    )


def _what(row: Deadline) -> str:
    return "签收" if row.kind == DeadlineKind.PLATFORM_ACKNOWLEDGEMENT else "答复或报告执行情况"


async def _authority_ref(session: AsyncSession, case: Case) -> AuthorityRef:
    authority = await session.get(Authority, case.authority_id)
    assert authority is not None  # noqa: S101 - foreign key
    return AuthorityRef(code=authority.division_code, name=authority.name, level=authority.level)  # type: ignore[arg-type]


async def _reminder(
    session: AsyncSession, case: Case, row: Deadline, order: OutboundMessage, platform: Platform, lapse: Literal[1, 2]
) -> DeadlineReminder:
    title = _TITLES.get(order.message_type, order.message_type)
    what = _what(row)
    text = (
        f"{platform.name}：本机关于案件 {case.id} 发出的{title}（消息编号 {order.id}）要求在 "
        f"{beijing(row.due_at)}（北京时间）前{what}，至今未收到。请立即{what}。"
    )
    if lapse == _SECOND:
        text += f"该期限已第二次届满，本机关已记录拖延情形，计入平台合规情况（{basis('五(三)')}）。"
    else:
        text += f"第三方交易平台经营者对协作配合要求不得拒绝或者拖延（{basis('五(三)')}）。"
    now = utcnow()
    return DeadlineReminder(
        timestamp=now,
        data=DeadlineReminderData(
            case_id=case.id,
            authority=await _authority_ref(session, case),
            issued_at=now,
            order_id=order.id,
            order_type=order.message_type,  # type: ignore[arg-type]
            due="acknowledgement" if row.kind == DeadlineKind.PLATFORM_ACKNOWLEDGEMENT else "report",
            due_at=row.due_at,
            lapse=lapse,
            text=text,
        ),
    )


async def _officer(session: AsyncSession, case: Case) -> Recipient | None:
    """The responsible officer's mailbox: the case authority's channel e-mail, else its registered contact."""
    authority = await session.get(Authority, case.authority_id)
    if authority is None:
        return None
    channel = await session.get(AuthorityChannel, authority.id)
    email = (channel.email if channel else None) or authority.contact_email
    if not email:
        return None
    return Recipient(RecipientKind.CONTACT, authority.id, f"{authority.name} 承办人员", "smtp", {"to": email})


async def _recipients(session: AsyncSession, case: Case, platform: Platform) -> list[Recipient]:
    recipients = [
        Recipient(RecipientKind.PLATFORM, platform.id, platform.name, platform.adapter, {"platform_id": platform.id})
    ]
    contact = platform.contact or {}
    if contact.get("email"):
        name = f"{platform.name} {contact.get('name') or '合规联系人'}"
        recipients.append(Recipient(RecipientKind.CONTACT, platform.id, name, "smtp", {"to": contact["email"]}))
    officer = await _officer(session, case)
    if officer is not None:
        recipients.append(officer)
    return recipients
