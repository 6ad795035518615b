"""The platform intake: one signed endpoint for every reply type.

Order of work, each step refusing with its own status: verify the raw bytes against the platform's registered
keys (401) → deduplicate by ``webhook-id`` (same body: 200 with no second effect; other body: 409) → decode
and validate (400 naming the field) → check the platform answers its own notice (403) → apply the effect,
store the message verbatim and audit it, all in one transaction.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway import workdays as clocks
from spotcheck.gateway.audit.chain import append_audit
from spotcheck.gateway.cases.lifecycle import CaseState
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import (
    Case,
    Deadline,
    InboundMessage,
    Merchant,
    OperationalEvent,
    OutboundMessage,
    Platform,
    PlatformKey,
    RecordChunk,
    RecordUpload,
    ReinspectionApplication,
)
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import FieldError, ProblemError
from spotcheck.schemas import (
    ContractError,
    MerchantIdentity,
    NoticeAcknowledged,
    OrderConfirmed,
    RecordsProvided,
    ReinspectionApplied,
    Reply,
    TakedownReported,
    chunk_digest,
    decode_reply,
    message_type_of,
    set_digest,
)
from spotcheck.sdk import VerificationError, Webhook

INBOUND_KEYS_TTL_S = 2.0
"""Seconds a platform's inbound verifier is reused before its keys are read again."""

__all__ = ["IntakeResult", "receive_reply"]

_ORDER_TYPES = frozenset({"stop_sale.order", "delisting.order", "takedown.order"})


@dataclass(frozen=True)
class IntakeResult:
    """What the intake did with a reply (returned to the platform as JSON)."""

    status: str  # accepted | duplicate
    message_id: str
    type: str
    detail: dict[str, Any]


async def _verifier(session: AsyncSession, runtime: Runtime, platform_id: str) -> Webhook:
    """The platform's inbound verifier; 404 for an unknown platform, 401 when it has no valid key.

    Kept for up to :data:`INBOUND_KEYS_TTL_S` (never past the moment a key expires): a rotation in this process
    takes effect at once, one in another replica within that time.
    """
    cached = runtime.inbound_verifiers.get(platform_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    generation = runtime.inbound_generation.get(platform_id, 0)
    if await session.get(Platform, platform_id) is None:
        raise ProblemError(404, "unknown-platform", f"no platform registered as {platform_id!r}")
    now = utcnow()
    keys = (
        await session.scalars(
            select(PlatformKey)
            .where(PlatformKey.platform_id == platform_id, PlatformKey.direction == "inbound")
            .order_by(PlatformKey.created_at)
        )
    ).all()
    usable = [k for k in keys if k.valid_until is None or k.valid_until > now]
    cache_key = (platform_id, tuple(k.id for k in usable))
    webhook = runtime.verifier_cache.get(cache_key)
    if webhook is None:
        material = [
            k.public_key if k.kind == "whpk" else runtime.master_key.decrypt(k.secret_ciphertext or b"", context=k.id)
            for k in usable
        ]
        if not material:
            raise ProblemError(401, "no-keys", f"platform {platform_id} has no valid inbound key")
        webhook = Webhook([m for m in material if m], tolerance=runtime.settings.signature_tolerance_s)
        runtime.verifier_cache[cache_key] = webhook
    ttl = min([INBOUND_KEYS_TTL_S, *((k.valid_until - now).total_seconds() for k in usable if k.valid_until)])
    if runtime.inbound_generation.get(platform_id, 0) == generation:
        # Not when the keys changed while we read them: the read may predate the change.
        runtime.inbound_verifiers[platform_id] = (time.monotonic() + ttl, webhook)
    return webhook


async def receive_reply(
    session: AsyncSession, runtime: Runtime, platform_id: str, body: bytes, headers: dict[str, str]
) -> IntakeResult:
    """Verify, deduplicate, validate and apply one platform reply; commits on success."""
    webhook = await _verifier(session, runtime, platform_id)
    try:
        webhook.verify(body, headers)
    except VerificationError as exc:
        runtime.metrics.replies.labels("unknown", "unauthenticated").inc()
        raise ProblemError(401, "bad-signature", f"signature verification failed: {exc.reason}") from exc
    webhook_id = headers["webhook-id"]
    structlog.contextvars.bind_contextvars(message_id=webhook_id)
    digest = hashlib.sha256(body).hexdigest()
    existing = await _existing(session, platform_id, webhook_id)
    if existing is not None:
        return _duplicate(existing, digest)
    try:
        reply = decode_reply(body)
    except ContractError as exc:
        runtime.metrics.replies.labels("unknown", "invalid").inc()
        raise ProblemError(
            400, "invalid-message", str(exc), errors=[FieldError(field=exc.path or "$", reason=exc.reason)]
        ) from exc
    message_type = message_type_of(reply)
    if reply.data.platform_id != platform_id:
        raise ProblemError(403, "wrong-platform", "data.platform_id does not match the signing platform")
    case = await session.get(Case, reply.data.case_id)
    notice = await session.get(OutboundMessage, reply.data.in_reply_to)
    if case is None or notice is None or notice.case_id != case.id or notice.recipient_id != platform_id:
        raise ProblemError(
            403, "not-your-case", "data.in_reply_to is not a notice this gateway sent to this platform on data.case_id"
        )
    detail = await _apply(session, runtime, platform_id, case, notice, reply)
    row = InboundMessage(
        id=new_id("in"),
        platform_id=platform_id,
        webhook_id=webhook_id,
        message_type=message_type,
        case_id=case.id,
        body=body,
        body_sha256=digest,
        signature_header=headers.get("webhook-signature", "")[:8192],
        signed_timestamp=int(headers["webhook-timestamp"]),
        outcome=detail,
    )
    session.add(row)
    await append_audit(
        session,
        actor=f"platform:{platform_id}",
        action=f"reply.{message_type}",
        subject=row.id,
        detail={
            "case_id": case.id,
            "webhook_id": webhook_id,
            "body_sha256": digest,
            "in_reply_to": notice.id,
            "signature": row.signature_header,
        },
    )
    try:
        await session.commit()
    except IntegrityError:
        # A concurrent delivery of the same webhook-id won the race; answer as its duplicate.
        await session.rollback()
        existing = await _existing(session, platform_id, webhook_id)
        if existing is None:
            raise
        return _duplicate(existing, digest)
    runtime.metrics.replies.labels(message_type, "accepted").inc()
    return IntakeResult(status="accepted", message_id=row.id, type=message_type, detail=detail)


async def _existing(session: AsyncSession, platform_id: str, webhook_id: str) -> InboundMessage | None:
    return await session.scalar(
        select(InboundMessage).where(InboundMessage.platform_id == platform_id, InboundMessage.webhook_id == webhook_id)
    )


def _duplicate(existing: InboundMessage, digest: str) -> IntakeResult:
    if existing.body_sha256 != digest:
        raise ProblemError(
            409, "idempotency-conflict", "this webhook-id was already used with a different body; use a new id"
        )
    return IntakeResult(status="duplicate", message_id=existing.id, type=existing.message_type, detail=existing.outcome)


async def meet_platform_deadline(session: AsyncSession, notice: OutboundMessage, at: datetime) -> None:
    """Mark the notice answered and its platform clock met (late when past due)."""
    notice.answered_at = notice.answered_at or at
    rows = await session.scalars(
        select(Deadline).where(Deadline.message_id == notice.id, Deadline.status.in_(("open", "escalated")))
    )
    for row in rows:
        row.status = "met" if at <= row.due_at else "met_late"
        row.met_at = at


async def _apply(
    session: AsyncSession, runtime: Runtime, platform_id: str, case: Case, notice: OutboundMessage, reply: Reply
) -> dict[str, Any]:
    now = utcnow()
    if isinstance(reply, NoticeAcknowledged):
        notice.acknowledged_at = notice.acknowledged_at or reply.data.received_at
        if notice.message_type == "result.notice" and case.reinspection_deadline is not None:
            # 三(三): the window runs from receipt of the result notice, so a later receipt moves it.
            window = clocks.deadline_for_reinspection_application(reply.data.received_at, calendar=runtime.calendar)
            if window.due_at > case.reinspection_deadline:
                case.reinspection_deadline = window.due_at
                for row in await session.scalars(
                    select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "reinspection_application")
                ):
                    row.due_at = window.due_at
        return {"acknowledged": notice.id}
    if isinstance(reply, OrderConfirmed):
        confirmations = dict(case.order_confirmation or {})
        confirmations[reply.data.order_no] = msgspec.to_builtins(reply.data)
        case.order_confirmation = confirmations
        return {"confirmed_order": reply.data.order_no}
    if isinstance(reply, RecordsProvided):
        return await _records_chunk(session, platform_id, case, notice, reply, now)
    if isinstance(reply, MerchantIdentity):
        return await _identity(session, platform_id, case, notice, reply, now)
    if isinstance(reply, TakedownReported):
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
    if isinstance(reply, ReinspectionApplied):
        return await _reinspection(session, case, reply)
    raise ProblemError(400, "unsupported-type", f"{message_type_of(reply)} is not a reply this gateway accepts")


async def _records_chunk(
    session: AsyncSession,
    platform_id: str,
    case: Case,
    notice: OutboundMessage,
    reply: RecordsProvided,
    now: datetime,
) -> dict[str, Any]:
    data = reply.data
    if notice.message_type != "records.request":
        raise ProblemError(409, "not-a-records-request", "data.in_reply_to must be a records.request")
    if data.chunk_index >= data.chunk_count:
        raise _field(400, "$.data.chunk_index", f"must be below chunk_count ({data.chunk_count})")
    if chunk_digest(data.records, data.logs) != data.chunk_sha256:
        raise _field(400, "$.data.chunk_sha256", "does not match the SHA-256 of this chunk's records and logs")
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
    known = await session.scalar(
        select(RecordChunk).where(RecordChunk.upload_pk == upload.id, RecordChunk.chunk_index == data.chunk_index)
    )
    if known is not None:
        if known.chunk_sha256 != data.chunk_sha256:
            raise _field(409, "$.data.chunk_index", "this chunk was already accepted with a different digest")
        return {
            "upload_id": data.upload_id,
            "chunk": data.chunk_index,
            "already_had": True,
            "received": upload.received_chunks,
            "of": upload.chunk_count,
        }
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
    result: dict[str, Any] = {
        "upload_id": data.upload_id,
        "chunk": data.chunk_index,
        "received": upload.received_chunks,
        "of": upload.chunk_count,
    }
    if upload.received_chunks == upload.chunk_count:
        await session.flush()
        digests = (
            await session.scalars(
                select(RecordChunk.chunk_sha256)
                .where(RecordChunk.upload_pk == upload.id)
                .order_by(RecordChunk.chunk_index)
            )
        ).all()
        if set_digest(list(digests)) != upload.set_sha256:
            raise _field(409, "$.data.set_sha256", "the chunks received do not add up to set_sha256")
        upload.completed_at = now
        await meet_platform_deadline(session, notice, now)
        result["complete"] = True
    return result


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
                detail={"reason": data.unable_reason or "", "basis": "工商消字〔2015〕189号 五(一)"},
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
    if case.state != CaseState.RESULT_NOTIFIED.value or case.conclusion != "fail":
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
            Deadline.case_id == case.id, Deadline.kind == "reinspection_application", Deadline.status == "open"
        )
    ):
        deadline.status = "met"
        deadline.met_at = utcnow()
    return {"application": row.id}


def _field(status: int, field: str, reason: str) -> ProblemError:
    return ProblemError(status, "invalid-field", f"{field}: {reason}", errors=[FieldError(field=field, reason=reason)])
