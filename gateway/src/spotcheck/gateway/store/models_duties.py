"""Tables for the duties of the opinion in the case lifecycle (migration ``0007``).

How another authority is reached (四(二): the hazard 通报 goes to the authority where the manufacturer is
located), how quickly an authority's orders must be answered, who waived re-inspection and on what written
statement (三(三)), and the 拖延 findings recorded against platforms that let an order's deadline lapse twice (五(三)).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spotcheck.gateway.store.models import Base
from spotcheck.gateway.store.types import utcnow

__all__ = ["AuthorityChannel", "PlatformFinding", "ReinspectionWaiver"]


class AuthorityChannel(Base):
    """How an authority is reached by other authorities, and the answer hours its orders give platforms.

    ``webhook_url`` receives Standard Webhooks notices signed with the secret in ``webhook_config`` (the
    webhook adapter's configuration as JSON, its secret sealed under the master key like a platform's);
    ``email`` receives e-mail. Either may be absent; with neither the authority has no channel and a 通报 to it
    is an open task, never a pretend announcement.
    """

    __tablename__ = "authority_channels"

    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), primary_key=True)
    webhook_url: Mapped[str | None] = mapped_column(String(1000))
    webhook_config: Mapped[bytes | None] = mapped_column(LargeBinary)
    email: Mapped[str | None] = mapped_column(String(254))
    order_acknowledge_hours: Mapped[int | None] = mapped_column(Integer)
    order_effect_hours: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReinspectionWaiver(Base):
    """A party's written waiver of re-inspection (三(三)): who waived, on which statement, recorded by whom."""

    __tablename__ = "reinspection_waivers"
    __table_args__ = (UniqueConstraint("case_id", "party_role"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    party_role: Mapped[str] = mapped_column(String(16))
    waived_by: Mapped[str] = mapped_column(String(200))
    statement_sha256: Mapped[str | None] = mapped_column(String(64))
    relayed_reply_id: Mapped[str | None] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    waived_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlatformFinding(Base):
    """A finding against a platform operator: 拖延, an order's deadline lapsed twice (五(三) 不得拒绝或者拖延)."""

    __tablename__ = "platform_findings"
    __table_args__ = (UniqueConstraint("deadline_id", "kind"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    deadline_id: Mapped[str] = mapped_column(ForeignKey("deadlines.id"))
    message_id: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    order_type: Mapped[str] = mapped_column(String(64))
    basis: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
