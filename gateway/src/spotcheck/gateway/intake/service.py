"""The platform intake: one signed endpoint for every reply type.

Order of work, each step refusing with its own status: verify the raw bytes against the platform's registered
keys (401, :mod:`~spotcheck.gateway.intake.verifiers`) → decode and validate (400 naming the field) → hand the
reply to the group commit (:class:`IntakeCommitter`), which deduplicates by ``webhook-id`` (same body: 200 with no
second effect; other body: 409), checks the platform answers its own notice (403), applies the effect
(:mod:`~spotcheck.gateway.intake.effects`), stores the message verbatim and audits it, in a transaction shared
with the replies that arrived meanwhile. A request is answered only after the commit that holds its reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeAlias, cast

import structlog
from sqlalchemy import Row, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spotcheck.gateway.audit.service import AuditEntry, append_audit_many, message_entry, message_leaf_hash
from spotcheck.gateway.intake.batcher import ReplyBatcher
from spotcheck.gateway.intake.effects import apply_reply, plain_acknowledgement, stamps_only
from spotcheck.gateway.intake.verifiers import cached_inbound_verifier, inbound_verifier
from spotcheck.gateway.runtime import Runtime
from spotcheck.gateway.store.models import Case, InboundMessage, OutboundMessage
from spotcheck.gateway.store.types import new_id, utcnow
from spotcheck.gateway.web.problems import FieldError, ProblemError
from spotcheck.schemas import ContractError, Reply, decode_reply, message_type_of
from spotcheck.sdk import VerificationError

__all__ = ["IntakeCommitter", "IntakeResult", "IntakeService", "VerifiedReply"]

_Row: TypeAlias = Row[*tuple[Any, ...]]  # a Core row of a table: attributes named by its columns

_log = structlog.get_logger("spotcheck.gateway.intake")
_MAX_SIGNATURE_HEADER = 8192  # stored with the message; anything longer is not a signature we could have verified


@dataclass(frozen=True)
class IntakeResult:
    """What the intake did with a reply (returned to the platform as JSON)."""

    status: str  # accepted | duplicate
    message_id: str
    type: str
    detail: dict[str, Any]
    leaf_hash: str = ""  # hex RFC 9162 hash of the reply's leaf in the transparency log


@dataclass(frozen=True)
class VerifiedReply:
    """A reply whose signature verified and whose body decoded: what the group commit stores."""

    platform_id: str
    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    digest: str
    reply: Reply

    @property
    def key(self) -> tuple[str, str]:
        """What deduplicates it: the platform and its ``webhook-id``."""
        return (self.platform_id, self.webhook_id)


class IntakeService:
    """Receives the replies platforms sign: verification in the request, storage through the group commit."""

    def __init__(self, runtime: Runtime, committer: IntakeCommitter) -> None:
        self.runtime = runtime
        self.committer = committer

    async def receive_reply(self, platform_id: str, body: bytes, headers: dict[str, str]) -> IntakeResult:
        """Verify, deduplicate, validate and apply one platform reply; answers once it is committed.

        ``headers`` are the request's headers with lower-case names (``webhook-id``, ``webhook-timestamp``,
        ``webhook-signature``).

        Raises:
            ProblemError: 404 unknown platform; 401 no valid key or a bad signature; 409 a webhook-id reused with
                another body, or a reply that does not fit its notice; 400 an invalid message; 403 a reply on a
                case or notice that is not this platform's.
        """
        verified = await self._verified(platform_id, body, headers)
        if isinstance(verified, IntakeResult):
            return verified
        return await self.committer.submit(verified)

    async def _verified(self, platform_id: str, body: bytes, headers: dict[str, str]) -> VerifiedReply | IntakeResult:
        """The reply checked and decoded, or the answer to a webhook-id seen before whose body does not decode."""
        webhook = cached_inbound_verifier(self.runtime, platform_id)
        if webhook is None:
            # The session only reads keys; its connection goes back before the reply waits for the shared
            # transaction (SQLite has one connection per process).
            async with self.runtime.sessions() as session:
                webhook = await inbound_verifier(session, self.runtime, platform_id)
        try:
            webhook.verify(body, headers)
        except VerificationError as exc:
            self.runtime.metrics.replies.labels("unknown", "unauthenticated").inc()
            raise ProblemError(401, "bad-signature", f"signature verification failed: {exc.reason}") from exc
        webhook_id = headers["webhook-id"]
        structlog.contextvars.bind_contextvars(message_id=webhook_id)
        digest = hashlib.sha256(body).hexdigest()
        try:
            reply = decode_reply(body)
        except ContractError as exc:
            # A webhook-id seen before answers as before (or 409), even when this body does not decode.
            async with self.runtime.sessions() as session:
                existing = await _existing(session, [(platform_id, webhook_id)])
            if existing:
                return _raise_refusal(_duplicate(next(iter(existing.values())), digest))
            self.runtime.metrics.replies.labels("unknown", "invalid").inc()
            raise ProblemError(
                400, "invalid-message", str(exc), errors=[FieldError(field=exc.path or "$", reason=exc.reason)]
            ) from exc
        return VerifiedReply(
            platform_id=platform_id,
            webhook_id=webhook_id,
            timestamp=headers["webhook-timestamp"],
            signature=headers.get("webhook-signature", "")[:_MAX_SIGNATURE_HEADER],
            body=body,
            digest=digest,
            reply=reply,
        )


class IntakeCommitter:
    """The intake's group commit over one runtime: :meth:`submit` a verified reply, :meth:`close` at shutdown.

    A batch is stored in one transaction. Should one reply's effect refuse it (or the commit meet a concurrent
    copy from another process), the batch is rolled back and each reply is stored in a transaction of its own, so
    one reply's refusal is never another's.
    """

    def __init__(self, runtime: Runtime, *, max_batch: int | None = None) -> None:
        self.runtime = runtime
        self._batcher = ReplyBatcher[VerifiedReply, IntakeResult](
            self._store,
            max_batch=max_batch or runtime.settings.intake.max_batch,
        )

    async def submit(self, reply: VerifiedReply) -> IntakeResult:
        """Store ``reply`` with whatever else is waiting; its result once committed."""
        return await self._batcher.submit(reply)

    async def close(self) -> None:
        """Refuse further replies and wait for those handed over."""
        await self._batcher.close()

    async def _store(self, replies: Sequence[VerifiedReply]) -> list[IntakeResult | Exception]:
        self.runtime.metrics.intake_batch.observe(len(replies))
        if len(replies) > 1:
            try:
                async with self.runtime.sessions() as session:
                    return await self._store_together(session, replies, shared=True)
            except _SplitBatchError:
                _log.info("a reply of a shared batch was refused: storing each on its own", replies=len(replies))
            except Exception:  # noqa: BLE001 - e.g. a concurrent copy from another process: each on its own
                _log.warning("shared intake transaction failed: storing each reply on its own", exc_info=True)
        return [await self._store_one(reply) for reply in replies]

    async def _store_one(self, reply: VerifiedReply) -> IntakeResult | Exception:
        async with self.runtime.sessions() as session:
            try:
                return (await self._store_together(session, [reply], shared=False))[0]
            except IntegrityError:
                # A concurrent delivery of the same webhook-id (another process) won the race: its duplicate.
                await session.rollback()
                existing = await _existing(session, [reply.key])
                if reply.key not in existing:
                    raise
                return _duplicate(existing[reply.key], reply.digest)
            except Exception as exc:  # noqa: BLE001 - this reply's request answers with it; the others go on
                _log.exception("storing a reply failed", webhook_id=reply.webhook_id)
                return exc

    async def _store_together(
        self, session: AsyncSession, replies: Sequence[VerifiedReply], *, shared: bool
    ) -> list[IntakeResult | Exception]:
        """Store ``replies`` in one transaction; raises :class:`_SplitBatchError` when ``shared`` and one is refused."""
        existing = await _existing(session, [reply.key for reply in replies])
        notices = await _notices(session, {reply.reply.data.in_reply_to for reply in replies})
        cases, notice_objects = await _objects(session, replies, notices)
        outcomes: list[IntakeResult | Exception | None] = []
        first_of: dict[tuple[str, str], int] = {}
        stored: list[tuple[int, dict[str, Any]]] = []
        stamps: list[dict[str, Any]] = []
        entries: list[AuditEntry] = []
        for index, reply in enumerate(replies):
            if reply.key in existing:
                outcomes.append(_duplicate(existing[reply.key], reply.digest))
                continue
            if reply.key in first_of:  # the same webhook-id twice in this batch: answered after the commit
                outcomes.append(None)
                continue
            try:
                notice = _answered_notice(reply, notices)
                if stamps_only(reply.reply, notice.message_type):
                    detail = plain_acknowledgement(notice.id, notice.created_at, reply.reply)
                    stamps.append({"notice": notice.id, "at": reply.reply.data.received_at})
                else:
                    case, notice_object = cases[reply.reply.data.case_id], notice_objects[notice.id]
                    detail = await apply_reply(
                        session, self.runtime.calendar, reply.platform_id, case, notice_object, reply.reply
                    )
            except ProblemError as refused:
                if shared:
                    raise _SplitBatchError from refused
                await session.rollback()
                return [refused]
            first_of[reply.key] = index
            row = _inbound_row(reply, notice.case_id, detail)
            stored.append((index, row))
            entries.extend(_audit_entries(reply, row, notice.id))
            outcomes.append(None)
        if stamps:
            # In notice order, as the ORM wrote its updates: two processes' batches then lock notices in the same
            # order and cannot deadlock on PostgreSQL. The sort is stable, so each notice's first receipt still wins.
            stamps.sort(key=itemgetter("notice"))
            await session.execute(_STAMP_ACKNOWLEDGED, stamps)
        if stored:
            # Plain rows through Core, in one multi-row insert: nothing reads them back as ORM objects.
            await session.execute(insert(_INBOUND), [row for _, row in stored])
        leaves = await append_audit_many(session, entries)
        await session.commit()
        answered = self._answers(stored, leaves)
        for index, reply in enumerate(replies):
            if outcomes[index] is None:
                first = first_of[reply.key]
                outcomes[index] = answered[index] if index == first else _repeat(answered[first], replies[first], reply)
        return [outcome for outcome in outcomes if outcome is not None]

    def _answers(self, stored: list[tuple[int, dict[str, Any]]], leaves: list[str]) -> dict[int, IntakeResult]:
        answers: dict[int, IntakeResult] = {}
        for position, (index, row) in enumerate(stored):
            self.runtime.metrics.replies.labels(row["message_type"], "accepted").inc()
            # Two audit entries per reply: the record, then the message's own leaf, which the platform can compute.
            answers[index] = IntakeResult(
                status="accepted",
                message_id=row["id"],
                type=row["message_type"],
                detail=row["outcome"],
                leaf_hash=leaves[2 * position + 1],
            )
        return answers


class _SplitBatchError(Exception):
    """One reply of a shared batch was refused by its effect: store each reply on its own instead."""


def _inbound_row(reply: VerifiedReply, case_id: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": new_id("in"),
        "platform_id": reply.platform_id,
        "webhook_id": reply.webhook_id,
        "message_type": message_type_of(reply.reply),
        "case_id": case_id,
        "body": reply.body,
        "body_sha256": reply.digest,
        "signature_header": reply.signature,
        "signed_timestamp": int(reply.timestamp),
        "received_at": utcnow(),
        "outcome": detail,
    }


def _audit_entries(reply: VerifiedReply, row: dict[str, Any], notice_id: str) -> list[AuditEntry]:
    actor = f"platform:{reply.platform_id}"
    record = AuditEntry(
        actor,
        f"reply.{row['message_type']}",
        row["id"],
        {
            "case_id": row["case_id"],
            "webhook_id": reply.webhook_id,
            "body_sha256": reply.digest,
            "in_reply_to": notice_id,
            "signature": reply.signature,
        },
    )
    return [record, message_entry("in", reply.webhook_id, reply.timestamp, reply.body, actor=actor)]


def _raise_refusal(outcome: IntakeResult | ProblemError) -> IntakeResult:
    if isinstance(outcome, ProblemError):
        raise outcome
    return outcome


def _answered_notice(reply: VerifiedReply, notices: dict[str, _Row]) -> _Row:
    """The notice the reply answers, when it went to this platform on the reply's case (403 otherwise)."""
    data = reply.reply.data
    if data.platform_id != reply.platform_id:
        raise ProblemError(403, "wrong-platform", "data.platform_id does not match the signing platform")
    notice = notices.get(data.in_reply_to)
    # The notice's case_id is a foreign key: matching it is the case existing and being the notice's.
    if notice is None or notice.case_id != data.case_id or notice.recipient_id != reply.platform_id:
        raise ProblemError(
            403, "not-your-case", "data.in_reply_to is not a notice this gateway sent to this platform on data.case_id"
        )
    return notice


# Built once, as plain Core statements on the tables: the batch's look-ups differ only in their values, building an
# IN clause costs more than running it, and rows need no ORM objects (loading them was most of a batch's cost).
_OUTBOUND = cast("Table", OutboundMessage.__table__)
_INBOUND = cast("Table", InboundMessage.__table__)
_NOTICES = select(
    _OUTBOUND.c.id, _OUTBOUND.c.case_id, _OUTBOUND.c.recipient_id, _OUTBOUND.c.message_type, _OUTBOUND.c.created_at
).where(_OUTBOUND.c.id.in_(bindparam("ids", expanding=True)))
# One IN list per platform, not a row-value IN over (platform, webhook-id) pairs: SQLite answers that with a scan
# of every stored reply, while ``platform_id = ? AND webhook_id IN (…)`` walks the unique index.
_EXISTING = select(
    _INBOUND.c.id,
    _INBOUND.c.platform_id,
    _INBOUND.c.webhook_id,
    _INBOUND.c.message_type,
    _INBOUND.c.body_sha256,
    _INBOUND.c.outcome,
    _INBOUND.c.signed_timestamp,
    _INBOUND.c.body,
).where(
    _INBOUND.c.platform_id == bindparam("platform_id"),
    _INBOUND.c.webhook_id.in_(bindparam("webhook_ids", expanding=True)),
)
# An acknowledgement stamps its notice once: the first one received counts, later ones change nothing.
_STAMP_ACKNOWLEDGED = (
    update(_OUTBOUND)
    .where(_OUTBOUND.c.id == bindparam("notice"), _OUTBOUND.c.acknowledged_at.is_(None))
    .values(acknowledged_at=bindparam("at"))
)
_CASE_OBJECTS = select(Case).where(Case.id.in_(bindparam("ids", expanding=True)))
_NOTICE_OBJECTS = select(OutboundMessage).where(OutboundMessage.id.in_(bindparam("ids", expanding=True)))


async def _notices(session: AsyncSession, ids: set[str]) -> dict[str, _Row]:
    return {row.id: row for row in await session.execute(_NOTICES, {"ids": list(ids)})}


async def _objects(
    session: AsyncSession, replies: Sequence[VerifiedReply], notices: dict[str, _Row]
) -> tuple[dict[str, Case], dict[str, OutboundMessage]]:
    """The cases and notices, as objects by id, of the replies whose effects change them.

    That is all but plain acknowledgements: one query each, and none at all for a batch of plain acknowledgements.
    """
    case_ids: set[str] = set()
    notice_ids: set[str] = set()
    for reply in replies:
        notice = notices.get(reply.reply.data.in_reply_to)
        if notice is not None and not stamps_only(reply.reply, notice.message_type):
            case_ids.add(reply.reply.data.case_id)
            notice_ids.add(notice.id)
    if not case_ids:
        return {}, {}
    cases = {row.id: row for row in await session.scalars(_CASE_OBJECTS, {"ids": list(case_ids)})}
    return cases, {row.id: row for row in await session.scalars(_NOTICE_OBJECTS, {"ids": list(notice_ids)})}


async def _existing(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], _Row]:
    by_platform: dict[str, list[str]] = {}
    for platform_id, webhook_id in keys:
        by_platform.setdefault(platform_id, []).append(webhook_id)
    found: dict[tuple[str, str], _Row] = {}
    for platform_id, webhook_ids in by_platform.items():
        rows = await session.execute(_EXISTING, {"platform_id": platform_id, "webhook_ids": webhook_ids})
        found.update(((row.platform_id, row.webhook_id), row) for row in rows)
    return found


_REUSED_ID = "this webhook-id was already used with a different body; use a new id"


def _duplicate(existing: _Row, digest: str) -> IntakeResult | ProblemError:
    """The answer to a webhook-id seen before: the first outcome again, or 409 when the body differs."""
    if existing.body_sha256 != digest:
        return ProblemError(409, "idempotency-conflict", _REUSED_ID)
    return IntakeResult(
        status="duplicate",
        message_id=existing.id,
        type=existing.message_type,
        detail=existing.outcome,
        leaf_hash=message_leaf_hash("in", existing.webhook_id, existing.signed_timestamp, existing.body),
    )


def _repeat(first: IntakeResult, first_reply: VerifiedReply, reply: VerifiedReply) -> IntakeResult | ProblemError:
    """The answer to a webhook-id that came twice in one batch: the first one's outcome, or 409."""
    if first_reply.digest != reply.digest:
        return ProblemError(409, "idempotency-conflict", _REUSED_ID)
    return IntakeResult(
        status="duplicate",
        message_id=first.message_id,
        type=first.type,
        detail=first.detail,
        leaf_hash=first.leaf_hash,
    )
