"""The platform intake: one signed endpoint for every reply type.

Order of work, each step refusing with its own status: verify the raw bytes against the platform's registered
keys (401, :mod:`~spotcheck.gateway.intake.verifiers`) → deduplicate by ``webhook-id`` (same body: 200 with no
second effect; other body: 409) → decode and validate (400 naming the field) → check the platform answers its
own notice (403) → apply the effect (:mod:`~spotcheck.gateway.intake.effects`), store the message verbatim and
audit it, all in one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.service import AuditEntry, append_audit_many, message_entry, message_leaf_hash
from spotcheck.gateway.intake.effects import apply_reply
from spotcheck.gateway.intake.verifiers import inbound_verifier
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, InboundMessage, OutboundMessage
from spotcheck.gateway.store.types import new_id
from spotcheck.gateway.web.problems import FieldError, ProblemError
from spotcheck.schemas import ContractError, Reply, decode_reply, message_type_of
from spotcheck.sdk import VerificationError

__all__ = ["IntakeResult", "IntakeService"]

_MAX_SIGNATURE_HEADER = 8192  # stored with the message; anything longer is not a signature we could have verified


@dataclass(frozen=True)
class IntakeResult:
    """What the intake did with a reply (returned to the platform as JSON)."""

    status: str  # accepted | duplicate
    message_id: str
    type: str
    detail: dict[str, Any]
    leaf_hash: str = ""  # hex RFC 9162 hash of the reply's leaf in the transparency log


class IntakeService:
    """Receives the replies platforms sign, inside one database session."""

    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime

    async def receive_reply(self, platform_id: str, body: bytes, headers: dict[str, str]) -> IntakeResult:
        """Verify, deduplicate, validate and apply one platform reply; commits on success.

        ``headers`` are the request's headers with lower-case names (``webhook-id``, ``webhook-timestamp``,
        ``webhook-signature``).

        Raises:
            ProblemError: 404 unknown platform; 401 no valid key or a bad signature; 409 a webhook-id reused with
                another body, or a reply that does not fit its notice; 400 an invalid message; 403 a reply on a
                case or notice that is not this platform's.
        """
        await self._verify(platform_id, body, headers)
        webhook_id = headers["webhook-id"]
        structlog.contextvars.bind_contextvars(message_id=webhook_id)
        digest = hashlib.sha256(body).hexdigest()
        existing = await self._existing(platform_id, webhook_id)
        if existing is not None:
            return _duplicate(existing, digest)
        reply = self._decode(body)
        case, notice = await self._answered_notice(platform_id, reply)
        detail = await apply_reply(self.session, self.runtime.calendar, platform_id, case, notice, reply)
        message_type = message_type_of(reply)
        row = InboundMessage(
            id=new_id("in"),
            platform_id=platform_id,
            webhook_id=webhook_id,
            message_type=message_type,
            case_id=case.id,
            body=body,
            body_sha256=digest,
            signature_header=headers.get("webhook-signature", "")[:_MAX_SIGNATURE_HEADER],
            signed_timestamp=int(headers["webhook-timestamp"]),
            outcome=detail,
        )
        self.session.add(row)
        actor = f"platform:{platform_id}"
        reply_entry = AuditEntry(
            actor,
            f"reply.{message_type}",
            row.id,
            {
                "case_id": case.id,
                "webhook_id": webhook_id,
                "body_sha256": digest,
                "in_reply_to": notice.id,
                "signature": row.signature_header,
            },
        )
        # The reply is also a leaf of its own, which the platform can compute from what it sent.
        inbound = message_entry("in", webhook_id, headers["webhook-timestamp"], body, actor=actor)
        _, leaf = await append_audit_many(self.session, [reply_entry, inbound])
        try:
            await self.session.commit()
        except IntegrityError:
            # A concurrent delivery of the same webhook-id won the race; answer as its duplicate.
            await self.session.rollback()
            existing = await self._existing(platform_id, webhook_id)
            if existing is None:
                raise
            return _duplicate(existing, digest)
        self.runtime.metrics.replies.labels(message_type, "accepted").inc()
        return IntakeResult(status="accepted", message_id=row.id, type=message_type, detail=detail, leaf_hash=leaf)

    async def _verify(self, platform_id: str, body: bytes, headers: dict[str, str]) -> None:
        webhook = await inbound_verifier(self.session, self.runtime, platform_id)
        try:
            webhook.verify(body, headers)
        except VerificationError as exc:
            self.runtime.metrics.replies.labels("unknown", "unauthenticated").inc()
            raise ProblemError(401, "bad-signature", f"signature verification failed: {exc.reason}") from exc

    def _decode(self, body: bytes) -> Reply:
        try:
            return decode_reply(body)
        except ContractError as exc:
            self.runtime.metrics.replies.labels("unknown", "invalid").inc()
            raise ProblemError(
                400, "invalid-message", str(exc), errors=[FieldError(field=exc.path or "$", reason=exc.reason)]
            ) from exc

    async def _answered_notice(self, platform_id: str, reply: Reply) -> tuple[Case, OutboundMessage]:
        """The case and the notice the reply answers, when that notice went to this platform on that case."""
        if reply.data.platform_id != platform_id:
            raise ProblemError(403, "wrong-platform", "data.platform_id does not match the signing platform")
        case = await self.session.get(Case, reply.data.case_id)
        notice = await self.session.get(OutboundMessage, reply.data.in_reply_to)
        if case is None or notice is None or notice.case_id != case.id or notice.recipient_id != platform_id:
            raise ProblemError(
                403,
                "not-your-case",
                "data.in_reply_to is not a notice this gateway sent to this platform on data.case_id",
            )
        return case, notice

    async def _existing(self, platform_id: str, webhook_id: str) -> InboundMessage | None:
        return await self.session.scalar(
            select(InboundMessage).where(
                InboundMessage.platform_id == platform_id, InboundMessage.webhook_id == webhook_id
            )
        )


def _duplicate(existing: InboundMessage, digest: str) -> IntakeResult:
    """The answer to a webhook-id seen before: the first outcome again, or 409 when the body differs."""
    if existing.body_sha256 != digest:
        raise ProblemError(
            409, "idempotency-conflict", "this webhook-id was already used with a different body; use a new id"
        )
    return IntakeResult(
        status="duplicate",
        message_id=existing.id,
        type=existing.message_type,
        detail=existing.outcome,
        leaf_hash=message_leaf_hash("in", existing.webhook_id, existing.signed_timestamp, existing.body),
    )
