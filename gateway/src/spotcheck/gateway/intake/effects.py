"""What each platform reply does to its case, once it is verified, decoded and shown to answer the platform's notice.

One function per reply type; each changes rows in the caller's transaction (the intake stores the message and
commits) and returns the outcome the platform is answered with. A reply that does not fit its notice or its
case is refused with 409 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway import workdays as clocks
from spotcheck.gateway.legal import basis
from spotcheck.gateway.store.models import (
    Case,
    Deadline,
    Merchant,
    OperationalEvent,
    OutboundMessage,
    RecordChunk,
    RecordUpload,
    ReinspectionApplication,
)
from spotcheck.gateway.store.statuses import CaseState, DeadlineKind, DeadlineStatus
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import FieldError, ProblemError
from spotcheck.gateway.workdays import WorkdayCalendar
from spotcheck.schemas import (
    MerchantIdentity,
    NoticeAcknowledged,
    OrderConfirmed,
    RecordsProvided,
    ReinspectionApplied,
    Reply,
    TakedownReported,
    message_type_of,
    set_digest,
)

__all__ = ["apply_reply", "meet_platform_deadline"]

_ORDER_TYPES = frozenset({"stop_sale.order", "delisting.order", "takedown.order"})


async def apply_reply(
    session: AsyncSession,
    calendar: WorkdayCalendar,
    platform_id: str,
    case: Case,
    notice: OutboundMessage,
    reply: Reply,
) -> dict[str, Any]:
    """Apply ``reply`` (which answers ``notice`` on ``case``) and return its outcome.

    Raises:
        ProblemError: 409 when the reply does not fit its notice or the case; 400 for a reply type the
            gateway does not accept or a records chunk whose index is wrong (its digest was checked on decode).
    """
    now = utcnow()
    if isinstance(reply, NoticeAcknowledged):
        return await _acknowledged(session, calendar, case, notice, reply)
    if isinstance(reply, OrderConfirmed):
        return _order_confirmed(case, reply)
    if isinstance(reply, RecordsProvided):
        return await _records_chunk(session, platform_id, case, notice, reply, now)
    if isinstance(reply, MerchantIdentity):
        return await _identity(session, platform_id, case, notice, reply, now)
    if isinstance(reply, TakedownReported):
        return await _takedown_reported(session, platform_id, case, notice, reply, now)
    if isinstance(reply, ReinspectionApplied):
        return await _reinspection(session, case, reply)
    raise ProblemError(400, "unsupported-type", f"{message_type_of(reply)} is not a reply this gateway accepts")


async def meet_platform_deadline(session: AsyncSession, notice: OutboundMessage, at: datetime) -> None:
    """Mark the notice answered and its platform clock met (late when past due)."""
    notice.answered_at = notice.answered_at or at
    rows = await session.scalars(
        select(Deadline).where(
            Deadline.message_id == notice.id,
            Deadline.status.in_((DeadlineStatus.OPEN, DeadlineStatus.ESCALATED)),
        )
    )
    for row in rows:
        row.status = DeadlineStatus.MET if at <= row.due_at else DeadlineStatus.MET_LATE
        row.met_at = at


async def _acknowledged(
    session: AsyncSession, calendar: WorkdayCalendar, case: Case, notice: OutboundMessage, reply: NoticeAcknowledged
) -> dict[str, Any]:
    notice.acknowledged_at = notice.acknowledged_at or reply.data.received_at
    if notice.message_type == "result.notice" and case.reinspection_deadline is not None:
        # 三(三): the window runs from receipt of the result notice, so a later receipt moves it.
        window = clocks.deadline_for_reinspection_application(reply.data.received_at, calendar=calendar)
        if window.due_at > case.reinspection_deadline:
            case.reinspection_deadline = window.due_at
            for row in await session.scalars(
                select(Deadline).where(
                    Deadline.case_id == case.id, Deadline.kind == DeadlineKind.REINSPECTION_APPLICATION
                )
            ):
                row.due_at = window.due_at
    return {"acknowledged": notice.id}


def _order_confirmed(case: Case, reply: OrderConfirmed) -> dict[str, Any]:
    confirmations = dict(case.order_confirmation or {})
    confirmations[reply.data.order_no] = msgspec.to_builtins(reply.data)
    case.order_confirmation = confirmations
    return {"confirmed_order": reply.data.order_no}


async def _takedown_reported(
    session: AsyncSession,
    platform_id: str,
    case: Case,
    notice: OutboundMessage,
    reply: TakedownReported,
    now: datetime,
) -> dict[str, Any]:
    if notice.message_type not in _ORDER_TYPES:
        raise ProblemError(409, "not-an-order", "data.in_reply_to must be a stop-sale, delisting or takedown order")
    case.measures = [
        *case.measures,
        {
            "kind": "reported",
            "platform": platform_id,
            "order": notice.id,
            "measures": list(reply.data.measures_taken),
            "listings": list(reply.data.listing_ids),
            "effective_at": reply.data.effective_at.isoformat(),
        },
    ]
    await meet_platform_deadline(session, notice, now)
    return {"reported": notice.id, "listings": len(reply.data.listing_ids)}


async def _records_chunk(
    session: AsyncSession,
    platform_id: str,
    case: Case,
    notice: OutboundMessage,
    reply: RecordsProvided,
    now: datetime,
) -> dict[str, Any]:
    """Store one chunk of a records upload; the upload completes (and the request is answered) with its last."""
    data = reply.data
    if notice.message_type != "records.request":
        raise ProblemError(409, "not-a-records-request", "data.in_reply_to must be a records.request")
    if data.chunk_index >= data.chunk_count:
        raise _field(400, "$.data.chunk_index", f"must be below chunk_count ({data.chunk_count})")
    # chunk_sha256 was checked by decode_reply over the records and logs as the platform wrote them (the body's
    # bytes); hashing the decoded structs here would add omitted fields as null, re-format timestamps and refuse
    # a correct chunk from any sender that is not this SDK.
    upload = await _upload_for(session, platform_id, case, notice, reply)
    progress: dict[str, Any] = {"upload_id": data.upload_id, "chunk": data.chunk_index}
    known = await session.scalar(
        select(RecordChunk).where(RecordChunk.upload_pk == upload.id, RecordChunk.chunk_index == data.chunk_index)
    )
    if known is not None:
        if known.chunk_sha256 != data.chunk_sha256:
            raise _field(409, "$.data.chunk_index", "this chunk was already accepted with a different digest")
        return {**progress, "already_had": True, "received": upload.received_chunks, "of": upload.chunk_count}
    session.add(
        RecordChunk(
            upload_pk=upload.id,
            chunk_index=data.chunk_index,
            chunk_sha256=data.chunk_sha256,
            records=msgspec.to_builtins(data.records),
            logs=msgspec.to_builtins(data.logs),
        )
    )
    upload.received_chunks += 1
    upload.record_count += len(data.records)
    upload.log_count += len(data.logs)
    result = {**progress, "received": upload.received_chunks, "of": upload.chunk_count}
    if upload.received_chunks == upload.chunk_count:
        await session.flush()
        digests = await session.scalars(
            select(RecordChunk.chunk_sha256).where(RecordChunk.upload_pk == upload.id).order_by(RecordChunk.chunk_index)
        )
        if set_digest(list(digests)) != upload.set_sha256:
            raise _field(409, "$.data.set_sha256", "the chunks received do not add up to set_sha256")
        upload.completed_at = now
        await meet_platform_deadline(session, notice, now)
        result["complete"] = True
    return result


async def _upload_for(
    session: AsyncSession, platform_id: str, case: Case, notice: OutboundMessage, reply: RecordsProvided
) -> RecordUpload:
    """The upload this chunk belongs to, begun by its first chunk; later chunks must describe the same set."""
    data = reply.data
    upload = await session.scalar(
        select(RecordUpload).where(RecordUpload.platform_id == platform_id, RecordUpload.upload_id == data.upload_id)
    )
    if upload is None:
        upload = RecordUpload(
            id=new_id("upl"),
            platform_id=platform_id,
            upload_id=data.upload_id,
            case_id=case.id,
            in_reply_to=notice.id,
            chunk_count=data.chunk_count,
            set_sha256=data.set_sha256,
            received_chunks=0,
            record_count=0,
            log_count=0,
        )
        session.add(upload)
        await session.flush()
    elif (upload.chunk_count, upload.set_sha256, upload.case_id) != (data.chunk_count, data.set_sha256, case.id):
        raise _field(
            409, "$.data.upload_id", "chunk_count, set_sha256 or case differ from earlier chunks of this upload"
        )
    return upload


async def _identity(
    session: AsyncSession,
    platform_id: str,
    case: Case,
    notice: OutboundMessage,
    reply: MerchantIdentity,
    now: datetime,
) -> dict[str, Any]:
    data = reply.data
    if notice.message_type != "merchant.identity_request":
        raise ProblemError(409, "not-an-identity-request", "data.in_reply_to must be a merchant.identity_request")
    merchant = await session.get(Merchant, case.merchant_id)
    assert merchant is not None  # noqa: S101 - foreign key
    if data.shop_id != merchant.shop_id:
        raise _field(409, "$.data.shop_id", "is not the shop of this case")
    await meet_platform_deadline(session, notice, now)
    if data.unable:
        merchant.unreachable_since = merchant.unreachable_since or now
        # 五(一): a platform that cannot identify the merchant bears the consumers' compensation liability.
        session.add(
            OperationalEvent(
                id=new_id("evt"),
                kind="platform_liability",
                case_id=case.id,
                platform_id=platform_id,
                detail={"reason": data.unable_reason or "", "basis": basis("五(一)")},
            )
        )
        return {"merchant": merchant.id, "unreachable": True}
    merchant.legal_name = data.legal_name or merchant.legal_name
    merchant.address = data.address or merchant.address
    merchant.uscc = data.uscc or merchant.uscc
    if data.contact and "@" in data.contact:
        merchant.contact_email = data.contact
    elif data.contact:
        merchant.contact_phone = data.contact[:40]
    return {"merchant": merchant.id, "identified": True}


async def _reinspection(session: AsyncSession, case: Case, reply: ReinspectionApplied) -> dict[str, Any]:
    data = reply.data
    if case.state != CaseState.RESULT_NOTIFIED or case.conclusion != "fail":
        raise ProblemError(409, "no-window", "re-inspection can be applied for only while a failing result is notified")
    if case.reinspection_deadline is None or data.applied_at > case.reinspection_deadline:
        raise _field(409, "$.data.applied_at", "after the re-inspection window closed; the result is final (三(三))")
    row = ReinspectionApplication(
        id=new_id("rei"),
        case_id=case.id,
        applicant_role=data.applicant_role,
        applicant_name=data.applicant_name,
        applied_at=data.applied_at,
        received_via="platform",
        document_sha256=data.application_sha256,
        reason=data.reason,
    )
    session.add(row)
    for deadline in await session.scalars(
        select(Deadline).where(
            Deadline.case_id == case.id,
            Deadline.kind == DeadlineKind.REINSPECTION_APPLICATION,
            Deadline.status == DeadlineStatus.OPEN,
        )
    ):
        deadline.status = DeadlineStatus.MET
        deadline.met_at = utcnow()
    return {"application": row.id}


def _field(status: int, field: str, reason: str) -> ProblemError:
    return ProblemError(status, "invalid-field", f"{field}: {reason}", errors=[FieldError(field=field, reason=reason)])
