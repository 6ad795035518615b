"""Tables of the gateway, as SQLAlchemy 2 typed declarative models.

Identifiers are application-made, time-ordered strings (``case_…``, ``msg_…``) so that rows can be referred
to in notices before they are flushed and sort by creation on every engine.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from spotcheck.gateway.store.types import JSONType, UTCDateTime, utcnow

__all__ = [
    "ApiToken",
    "AuditRecord",
    "Authority",
    "Base",
    "Case",
    "CaseEvent",
    "Deadline",
    "DeliveryAttempt",
    "Entrustment",
    "InboundMessage",
    "Manufacturer",
    "Merchant",
    "OperationalEvent",
    "OutboundMessage",
    "Platform",
    "PlatformKey",
    "RecordChunk",
    "RecordUpload",
    "ReinspectionApplication",
]

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention and type map."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class Authority(Base):
    """A market regulation authority (national, provincial, municipal or county) and its division."""

    __tablename__ = "authorities"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    division_code: Mapped[str] = mapped_column(String(6), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("authorities.id"))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Entrustment(Base):
    """A higher authority entrusting a lower one with sampling in an area (opinion 二, last paragraph)."""

    __tablename__ = "entrustments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    principal_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"))
    agent_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(6))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class ApiToken(Base):
    """A regulator API token: only its SHA-256 is kept; the secret is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class Platform(Base):
    """A third-party trading platform operator (第三方交易平台经营者) and how to reach it."""

    __tablename__ = "platforms"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    province_code: Mapped[str] = mapped_column(String(6), index=True)
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    adapter: Mapped[str] = mapped_column(String(64), default="webhook")
    adapter_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlatformKey(Base):
    """A signing key of a platform relationship.

    ``direction`` is ``inbound`` (the platform signs its replies; we verify) or ``outbound`` (we sign notices to it).
    Symmetric secrets must be usable, so they are kept encrypted with the gateway's master key, never in clear.
    A rotated key keeps working until ``valid_until`` (the overlap window).
    """

    __tablename__ = "platform_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))
    public_key: Mapped[str | None] = mapped_column(String(120))
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None]


class Merchant(Base):
    """A sampled online seller (网络商品经营者): a shop on a platform or an independent website."""

    __tablename__ = "merchants"
    __table_args__ = (UniqueConstraint("platform_id", "shop_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform_id: Mapped[str | None] = mapped_column(ForeignKey("platforms.id"))
    shop_id: Mapped[str] = mapped_column(String(128))
    shop_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    registration_division: Mapped[str | None] = mapped_column(String(6))
    address: Mapped[str | None] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(500))
    icp_filing: Mapped[str | None] = mapped_column(String(64))
    unreachable_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Manufacturer(Base):
    """A labelled manufacturer (样品标称的生产者)."""

    __tablename__ = "manufacturers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    address: Mapped[str | None] = mapped_column(String(500))
    division_code: Mapped[str | None] = mapped_column(String(6))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    """One sampling inspection case and everything recorded on it; ``state`` follows the lifecycle machine."""

    __tablename__ = "cases"
    # The console's cases-by-state count reads this index alone (state, then the two columns of the scope).
    __table_args__ = (Index("ix_cases_state_scope", "state", "authority_id", "jurisdiction_division"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), index=True)
    jurisdiction_division: Mapped[str] = mapped_column(String(6), index=True)
    jurisdiction_basis: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(32), index=True)
    platform_id: Mapped[str | None] = mapped_column(ForeignKey("platforms.id"), index=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    manufacturer_id: Mapped[str | None] = mapped_column(ForeignKey("manufacturers.id"))
    plan_reference: Mapped[str] = mapped_column(String(200), default="")
    # The plan (``plans.id``, migration 0003) and where the case comes from: a draw or a targeted selection.
    plan_id: Mapped[str | None] = mapped_column(String(40), index=True)
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    sample_name: Mapped[str] = mapped_column(String(200))
    trademark: Mapped[str] = mapped_column(String(200))
    spec_model: Mapped[str] = mapped_column(String(200))
    production_date: Mapped[date | None] = mapped_column(Date)
    batch_no: Mapped[str | None] = mapped_column(String(128))
    listing_id: Mapped[str | None] = mapped_column(String(128))
    listing_url: Mapped[str | None] = mapped_column(String(1000))
    purchase: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    sealing: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    order_confirmation: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    conclusion: Mapped[str | None] = mapped_column(String(8))
    hazardous: Mapped[bool] = mapped_column(Boolean, default=False)
    mandatory_standard_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    result_received_at: Mapped[datetime | None]
    result_notified_at: Mapped[datetime | None]
    reinspection_deadline: Mapped[datetime | None]
    final_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    measures: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute

    def scope(self) -> dict[str, str]:
        """Who may see the case: its authority and jurisdiction, copied onto its clocks and notices when made.

        Both are fixed when the case is opened, so the copies never go stale.
        """
        return {"authority_id": self.authority_id, "jurisdiction_division": self.jurisdiction_division}


class CaseEvent(Base):
    """One step of a case's history: who did what, from which state to which, with what data."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboundMessage(Base):
    """The transactional outbox: a notice or order written in the same transaction as the change that caused it.

    ``id`` is the Standard Webhooks ``webhook-id``, stable across every retry so receivers can deduplicate.
    """

    __tablename__ = "outbound_messages"
    # The worker claims due notices by (status, next_attempt_at); the rest lets the console's count of notices not
    # delivered read this index alone (a few thousand rows, where each row's own page would be a read of its own).
    __table_args__ = (
        Index(
            "ix_outbound_due",
            "status",
            "next_attempt_at",
            "recipient_kind",
            "recipient_id",
            "case_id",
            "authority_id",
            "jurisdiction_division",
            "recipient_name",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # The case's scope (:meth:`Case.scope`; None with no case): the console counts the notices an officer may see
    # from ``ix_outbound_due`` alone instead of joining every one to its case. A case's scope never changes.
    authority_id: Mapped[str | None] = mapped_column(String(40))
    jurisdiction_division: Mapped[str | None] = mapped_column(String(6))
    message_type: Mapped[str] = mapped_column(String(64))
    recipient_kind: Mapped[str] = mapped_column(String(16))
    recipient_id: Mapped[str] = mapped_column(String(64))
    recipient_name: Mapped[str] = mapped_column(String(200))
    adapter: Mapped[str] = mapped_column(String(64))
    destination: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(String(500))
    respond_by: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryAttempt(Base):
    """One try at delivering an outbound message, kept for proof and diagnosis."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("outbound_messages.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    latency_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))


class InboundMessage(Base):
    """A verified platform reply, kept verbatim; (platform, webhook-id) is the idempotency key."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("platform_id", "webhook_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"))
    webhook_id: Mapped[str] = mapped_column(String(256))
    message_type: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    signature_header: Mapped[str] = mapped_column(String(8192))
    signed_timestamp: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RecordUpload(Base):
    """A chunked set of transaction records and logs from a platform, reassembled and checked by digest."""

    __tablename__ = "record_uploads"
    __table_args__ = (UniqueConstraint("platform_id", "upload_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"))
    upload_id: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    in_reply_to: Mapped[str] = mapped_column(String(64))
    chunk_count: Mapped[int] = mapped_column(Integer)
    set_sha256: Mapped[str] = mapped_column(String(64))
    received_chunks: Mapped[int] = mapped_column(Integer, default=0)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    log_count: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordChunk(Base):
    """One accepted chunk of a record upload; a resent chunk with the same digest is a no-op."""

    __tablename__ = "record_chunks"
    __table_args__ = (UniqueConstraint("upload_pk", "chunk_index"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    upload_pk: Mapped[str] = mapped_column(ForeignKey("record_uploads.id"), index=True)
    chunk_index: Mapped[int] = mapped_column(Integer)
    chunk_sha256: Mapped[str] = mapped_column(String(64))
    records: Mapped[list[Any]] = mapped_column(default=list)
    logs: Mapped[list[Any]] = mapped_column(default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deadline(Base):
    """A legal or contractual clock on a case: the result notice, the re-inspection window, a platform's answer."""

    __tablename__ = "deadlines"
    __table_args__ = (
        # Sweeps find due clocks by (status, due_at); the console's overdue and due-soon counts and its most urgent
        # clocks read this index alone, scope included.
        Index("ix_deadlines_open_due", "status", "due_at", "authority_id", "jurisdiction_division", "id"),
        # The console's compliance figures read the recent clocks of one kind (platform answers), not the whole table,
        # and from this index alone: it carries every column they count or measure, and the scope.
        Index(
            "ix_deadlines_kind_created_cover",
            "kind",
            "created_at",
            "party",
            "status",
            "due_at",
            "met_at",
            "authority_id",
            "jurisdiction_division",
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    # The case's scope (:meth:`Case.scope`), so the console's scoped figures need not join every clock to its case.
    authority_id: Mapped[str] = mapped_column(String(40))
    jurisdiction_division: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(40))
    party: Mapped[str] = mapped_column(String(80))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("outbound_messages.id"))
    due_at: Mapped[datetime]
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    rule: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    met_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReinspectionApplication(Base):
    """A written re-inspection application (复检申请) from the merchant or the labelled manufacturer."""

    __tablename__ = "reinspection_applications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    applicant_role: Mapped[str] = mapped_column(String(16))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applied_at: Mapped[datetime]
    received_via: Mapped[str] = mapped_column(String(16))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OperationalEvent(Base):
    """Something an operator must look at: an overdue platform answer, a disabled endpoint, a dead letter."""

    __tablename__ = "operational_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    platform_id: Mapped[str | None] = mapped_column(ForeignKey("platforms.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class AuditRecord(Base):
    """An append-only record of every change and every message in or out, and its leaf in the transparency log.

    A request inserts the record with its RFC 9162 ``leaf_hash`` and nothing else; the sequencer later assigns
    ``leaf_index`` (see :mod:`spotcheck.gateway.audit.sequencer`). ``prev_hash`` and ``hash`` are the links of the
    hash chain kept before the log (migration ``0004``): set on those records only, so their checkpoints still verify.
    """

    __tablename__ = "audit_records"
    __table_args__ = (
        # The sequencer's queue: the few records not integrated yet, in insertion order.
        Index(
            "ix_audit_records_unsequenced",
            "seq",
            postgresql_where=text("leaf_index IS NULL"),
            sqlite_where=text("leaf_index IS NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(120))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
