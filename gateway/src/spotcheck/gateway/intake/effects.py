"""What each platform reply does to its case, once it is verified, decoded and shown to answer the platform's notice.

One function per reply type; each changes rows in the caller's transaction (the intake stores the message and
commits) and returns the outcome the platform is answered with. A reply is checked against the notice it answers
(its type, the orders, measures, shop and times that notice allows) and refused with 422 naming the field when it
does not fit; a reply the case's state no longer allows is refused with 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeGuard

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.deadlines.service import (
    Application,
    beijing,
    record_application,
    records_missing,
    refresh_windows,
)
from spotcheck.gateway.legal import basis
from spotcheck.gateway.store.models import (
    Case,
    Deadline,
    Merchant,
    OperationalEvent,
    OutboundMessage,
    RecordChunk,
    RecordUpload,
)
from spotcheck.gateway.store.statuses import DeadlineKind, DeadlineStatus
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import FieldError, ProblemError
from spotcheck.gateway.workdays import WorkdayCalendar
from spotcheck.schemas import (
    MerchantIdentity,
    NoticeAcknowledged,
    OrderConfirmed,
    RecordsProvided,
    RecordsUnavailable,
    ReinspectionApplied,
    Reply,
    TakedownReported,
    message_type_of,
    set_digest,
)

__all__ = ["CLOCK_SKEW", "apply_reply", "meet_platform_deadline", "plain_acknowledgement", "stamps_only"]

_ORDER_TYPES = frozenset({"stop_sale.order", "delisting.order", "takedown.order"})
CLOCK_SKEW = timedelta(minutes=5)
"""How far a platform's clock may differ from ours: times beyond it in the future, or before the notice, are refused."""
# What each order asks the platform to do (四(二)); a takedown order lists its own measures.
_ORDERED_MEASURES: dict[str, frozenset[str]] = {
    "stop_sale.order": frozenset({"stop_sale", "warning"}),
    "delisting.order": frozenset({"stop_sale", "stop_trading_service"}),
}


async def apply_reply(  # noqa: PLR0911 - one return per reply type
    session: AsyncSession,
    calendar: WorkdayCalendar,
    platform_id: str,
    case: Case,
    notice: OutboundMessage,
    reply: Reply,
) -> dict[str, Any]:
    """Apply ``reply`` (which answers ``notice`` on ``case``) and return its outcome.

    Raises:
        ProblemError: 422 naming the field when the reply does not fit the notice it answers; 409 when the case
            no longer allows it; 400 for a reply type the gateway does not accept or a records chunk whose index is
            wrong (its digest was checked on decode).
    """
    now = utcnow()
    if isinstance(reply, NoticeAcknowledged):
        return await _acknowledged(session, calendar, case, notice, reply, now)
    if isinstance(reply, OrderConfirmed):
        return await _order_confirmed(session, case, notice, reply, now)
    if isinstance(reply, RecordsProvided):
        return await _records_chunk(session, platform_id, case, notice, reply, now)
    if isinstance(reply, RecordsUnavailable):
        return await _records_unavailable(session, case, notice, reply, now)
    if isinstance(reply, MerchantIdentity):
        return await _identity(session, platform_id, case, notice, reply, now)
    if isinstance(reply, TakedownReported):
        return await _takedown_reported(session, platform_id, case, notice, reply, now)
    if isinstance(reply, ReinspectionApplied):
        return await _reinspection(session, calendar, case, notice, reply)
    raise ProblemError(400, "unsupported-type", f"{message_type_of(reply)} is not a reply this gateway accepts")


async def meet_platform_deadline(
    session: AsyncSession, notice: OutboundMessage, at: datetime, *, acknowledgement_only: bool = False
) -> None:
    """Mark the notice answered and its platform clocks met (late when past due).

    With ``acknowledgement_only`` only the acknowledgement clock of an order is met and the notice is not
    answered: an acknowledgement says the order arrived, not that it was carried out.
    """
    if not acknowledgement_only:
        notice.answered_at = notice.answered_at or at
    query = select(Deadline).where(
        Deadline.message_id == notice.id,
        Deadline.status.in_((DeadlineStatus.OPEN, DeadlineStatus.ESCALATED)),
    )
    if acknowledgement_only:
        query = query.where(Deadline.kind == DeadlineKind.PLATFORM_ACKNOWLEDGEMENT)
    rows = await session.scalars(query)
    for row in rows:
        row.status = DeadlineStatus.MET if at <= row.due_at else DeadlineStatus.MET_LATE
        row.met_at = at


def stamps_only(reply: Reply, notice_type: str) -> TypeGuard[NoticeAcknowledged]:
    """Whether ``reply`` only stamps the notice it answers: an acknowledgement of a notice that starts no clock.

    Most replies are such acknowledgements; the intake applies them to plain rows (:func:`plain_acknowledgement`)
    instead of loading the case and the notice as objects. An order's acknowledgement meets its acknowledgement
    clock and a result notice's starts the parties' windows (三(三)), so those take :func:`apply_reply`.
    """
    return isinstance(reply, NoticeAcknowledged) and notice_type not in _ORDER_TYPES and notice_type != "result.notice"


def plain_acknowledgement(notice_id: str, issued_at: datetime, reply: NoticeAcknowledged) -> dict[str, Any]:
    """Check an acknowledgement that :func:`stamps_only`; its outcome. The caller stamps ``acknowledged_at``.

    Raises:
        ProblemError: 422 naming ``$.data.received_at`` when it is in the future or before the notice was issued.
    """
    _check_time("$.data.received_at", reply.data.received_at, issued_at, utcnow())
    return {"acknowledged": notice_id}


def _check_time(field: str, value: datetime, issued_at: datetime, now: datetime) -> None:
    """422 naming ``field`` for a time in the future (beyond the skew) or before the notice was issued."""
    if value > now + CLOCK_SKEW:
        raise _field(
            422, field, f"is in the future ({beijing(value)}, 北京时间); the gateway's clock reads {beijing(now)}"
        )
    if value < issued_at - CLOCK_SKEW:
        raise _field(422, field, f"is before the notice was issued ({beijing(issued_at)}, 北京时间)")


async def _acknowledged(
    session: AsyncSession,
    calendar: WorkdayCalendar,
    case: Case,
    notice: OutboundMessage,
    reply: NoticeAcknowledged,
    now: datetime,
) -> dict[str, Any]:
    _check_time("$.data.received_at", reply.data.received_at, notice.created_at, now)
    notice.acknowledged_at = notice.acknowledged_at or reply.data.received_at
    if notice.message_type in _ORDER_TYPES:
        await meet_platform_deadline(session, notice, now, acknowledgement_only=True)
    if notice.message_type == "result.notice":
        # 三(三): each party's window runs from its receipt of the result notice.
        await refresh_windows(session, case, calendar)
    return {"acknowledged": notice.id}


def _requested(notice: OutboundMessage, field: str) -> list[str]:
    if notice.message_type != "records.request":
        raise _field(422, "$.data.in_reply_to", f"a {field} answers a records.request, not a {notice.message_type}")
    return list(msgspec.json.decode(notice.body)["data"]["orders"])


async def _settle_records(
    session: AsyncSession, case: Case, notice: OutboundMessage, now: datetime, *, also_declared: Sequence[str] = ()
) -> list[str]:
    """Meet the request's deadline when nothing is missing any more; answer what still is."""
    missing = await records_missing(session, case, notice, also_declared=also_declared)
    if not missing:
        await meet_platform_deadline(session, notice, now)
    return missing


async def _order_confirmed(
    session: AsyncSession, case: Case, notice: OutboundMessage, reply: OrderConfirmed, now: datetime
) -> dict[str, Any]:
    data = reply.data
    if data.order_no not in _requested(notice, "order confirmation"):
        raise _field(422, "$.data.order_no", "is not an order the records request names")
    merchant = await session.get(Merchant, case.merchant_id)
    assert merchant is not None  # noqa: S101 - foreign key
    if data.shop_id != merchant.shop_id:
        raise _field(422, "$.data.shop_id", "is not the shop of this case")
    confirmations = dict(case.order_confirmation or {})
    confirmations[data.order_no] = msgspec.to_builtins(data)
    case.order_confirmation = confirmations
    missing = await _settle_records(session, case, notice, now)
    return {"confirmed_order": data.order_no, "missing": missing, "complete": not missing}


async def _records_unavailable(
    session: AsyncSession, case: Case, notice: OutboundMessage, reply: RecordsUnavailable, now: datetime
) -> dict[str, Any]:
    requested = _requested(notice, "records.unavailable declaration")
    for index, order in enumerate(reply.data.orders):
        if order not in requested:
            raise _field(422, f"$.data.orders[{index}]", "is not an order the records request names")
    missing = await _settle_records(session, case, notice, now, also_declared=list(reply.data.orders))
    return {"declared_unavailable": list(reply.data.orders), "missing": missing, "complete": not missing}


async def _takedown_reported(
    session: AsyncSession,
    platform_id: str,
    case: Case,
    notice: OutboundMessage,
    reply: TakedownReported,
    now: datetime,
) -> dict[str, Any]:
    data = reply.data
    if notice.message_type not in _ORDER_TYPES:
        raise _field(422, "$.data.in_reply_to", "must be a stop-sale, delisting or takedown order")
    if data.order_type != notice.message_type:
        raise _field(422, "$.data.order_type", f"the notice answered is a {notice.message_type}")
    ordered = _ORDERED_MEASURES.get(notice.message_type)
    if ordered is None:  # a takedown order names its own measures
        ordered = frozenset(msgspec.json.decode(notice.body)["data"]["measures"])
    for index, measure in enumerate(data.measures_taken):
        if measure not in ordered:
            raise _field(
                422, f"$.data.measures_taken[{index}]", f"{measure} was not ordered ({', '.join(sorted(ordered))})"
            )
    _check_time("$.data.effective_at", data.effective_at, notice.created_at, now)
    if not (data.listing_ids or data.shop_ids or data.none_found):
        raise _field(422, "$.data.listing_ids", "name the listings or shops acted on, or declare none_found")
    case.measures = [
        *case.measures,
        {
            "kind": "reported",
            "platform": platform_id,
            "order": notice.id,
            "measures": list(data.measures_taken),
            "listings": list(data.listing_ids),
            "shops": list(data.shop_ids),
            "none_found": data.none_found,
            "effective_at": data.effective_at.isoformat(),
        },
    ]
    await meet_platform_deadline(session, notice, now)
    return {"reported": notice.id, "listings": len(data.listing_ids)}


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
    _requested(notice, "records chunk")
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
        await session.flush()
        missing = await _settle_records(session, case, notice, now)
        result |= {"complete": not missing, "upload_complete": True, "missing": missing}
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
        raise _field(422, "$.data.in_reply_to", "must be a merchant.identity_request")
    merchant = await session.get(Merchant, case.merchant_id)
    assert merchant is not None  # noqa: S101 - foreign key
    if data.shop_id != merchant.shop_id:
        raise _field(422, "$.data.shop_id", "is not the shop of this case")
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


async def _reinspection(
    session: AsyncSession, calendar: WorkdayCalendar, case: Case, notice: OutboundMessage, reply: ReinspectionApplied
) -> dict[str, Any]:
    data = reply.data
    if notice.message_type != "result.notice":
        raise _field(422, "$.data.in_reply_to", "a re-inspection application answers the result notice")
    application = Application(
        applicant_role=data.applicant_role,
        applicant_name=data.applicant_name,
        applied_at=data.applied_at,
        received_via="platform",
        document_sha256=data.application_sha256,
        reason=data.reason,
    )
    row = await record_application(session, case, application, calendar, field="$.data.applied_at")
    return {"application": row.id}


def _field(status: int, field: str, reason: str) -> ProblemError:
    return ProblemError(status, "invalid-field", f"{field}: {reason}", errors=[FieldError(field=field, reason=reason)])
