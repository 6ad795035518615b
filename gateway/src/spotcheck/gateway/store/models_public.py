"""Tables for evidence files, signed audit checkpoints and public announcements (migration ``0002``).

They are declared on the same :class:`~spotcheck.gateway.store.models.Base` as every other table, so one
metadata object describes the whole schema for Alembic and for tests.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spotcheck.gateway.store.models import Base
from spotcheck.gateway.store.types import utcnow

__all__ = ["Announcement", "Checkpoint", "EvidenceFile"]


class EvidenceFile(Base):
    """One evidence file (screenshot, video, document) linked to a case and the step it records (三(一)).

    The bytes live once on disk under their SHA-256; the same file linked to another case or step is another
    row. Re-linking the same file to the same case and step is a no-op (the unique constraint).
    """

    __tablename__ = "evidence_files"
    __table_args__ = (UniqueConstraint("case_id", "step", "sha256"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Checkpoint(Base):
    """A signed statement of the audit chain's head: the record ``seq`` ends a chain of ``record_count`` records.

    ``signature`` is the gateway's Ed25519 signature (base64) over the canonical JSON described in
    :mod:`spotcheck.gateway.audit.checkpoints`; ``public_key`` (``whpk_…``) is the key that made it.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    record_count: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    public_key: Mapped[str] = mapped_column(String(120))
    signature: Mapped[str] = mapped_column(String(120))


class Announcement(Base):
    """A notice published on the regulator's website because its addressee could not be reached (三(二)).

    ``message_id`` is the outbound message it stands in for; publishing the same message again is a no-op.
    ``body`` is the notice's exact JSON and ``body_sha256`` its digest, so the published text can be tied to
    the signed notice in a dispute. ``case_id`` carries no foreign key: a public record outlives any cleanup.
    """

    __tablename__ = "announcements"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    message_type: Mapped[str] = mapped_column(String(64))
    feed: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    authority: Mapped[str] = mapped_column(String(200))
    recipient_name: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
