"""Tables of official documents (文书): their numbering sequences, the signed PDFs, the notices that carried them.

Migration ``0006``. A document is produced in the transaction of the case action that sends its notice, so its
number, its row and the notice exist together or not at all; the PDF's bytes live content-addressed on disk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spotcheck.gateway.store.models import Base
from spotcheck.gateway.store.types import utcnow

__all__ = ["Document", "DocumentDelivery", "DocumentNumberSequence"]


class DocumentNumberSequence(Base):
    """The last number an authority gave documents of one kind in one year (the row is locked while bumped)."""

    __tablename__ = "document_number_sequences"

    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Document(Base):
    """One numbered, signed document served in a case: its 文号, its addressee and its PDF's digest."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("authority_id", "kind", "number_year", "number_seq"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(80))
    number: Mapped[str] = mapped_column(String(80))
    number_year: Mapped[int] = mapped_column(Integer)
    number_seq: Mapped[int] = mapped_column(Integer)
    addressee_kind: Mapped[str] = mapped_column(String(16))
    addressee_id: Mapped[str] = mapped_column(String(64))
    addressee_name: Mapped[str] = mapped_column(String(200))
    message_type: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(127))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    signer: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentDelivery(Base):
    """A notice (outbound message) that carried a document: its delivery and acknowledgement prove service."""

    __tablename__ = "document_deliveries"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("outbound_messages.id"), primary_key=True, index=True)
