"""Tables of sampling plans, the two directories and the random draws (migration ``0003``).

抽检实施方案 (the opinion's 六(二)), 检查对象名录库 and 执法检查人员名录库, and the commit-reveal draws of
双随机一公开 (三, 六(二)). Declared on the shared :class:`~spotcheck.gateway.store.models.Base`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from spotcheck.gateway.store.models import Base
from spotcheck.gateway.store.types import JSONType, utcnow

__all__ = ["Draw", "Inspector", "MerchantDirectoryEntry", "Plan", "PlanNumberCounter"]


class Plan(Base):
    """A sampling plan (抽检实施方案): what is sampled and how, by whom, bought under which accounts.

    ``content`` holds the fields the 《流通领域商品质量抽查检验办法》 requires; ``buyers`` and ``addresses`` what the
    opinion adds. ``number`` (``浙市监抽〔2026〕12号``) is given on approval, gap-free per authority and year.
    """

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("authority_id", "number_year", "number_seq"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), index=True)
    number_prefix: Mapped[str] = mapped_column(String(32))
    number: Mapped[str | None] = mapped_column(String(80))
    number_year: Mapped[int | None] = mapped_column(Integer)
    number_seq: Mapped[int | None] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    buyers: Mapped[list[Any]] = mapped_column(default=list)
    addresses: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(40))
    approved_by: Mapped[str | None] = mapped_column(String(40))
    approved_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlanNumberCounter(Base):
    """The last plan number given by an authority in a year; bumped in the approving transaction (no gaps)."""

    __tablename__ = "plan_number_counters"

    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class MerchantDirectoryEntry(Base):
    """A merchant in the object directory (检查对象名录库): its categories and division, for the draws."""

    __tablename__ = "directory_merchants"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), index=True)
    platform_id: Mapped[str | None] = mapped_column(String(64), index=True)
    division_code: Mapped[str] = mapped_column(String(6), index=True)
    categories: Mapped[list[Any]] = mapped_column(default=list)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Inspector(Base):
    """An officer or testing-institution staff member in the inspector directory (执法检查人员名录库)."""

    __tablename__ = "inspectors"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))
    organisation: Mapped[str] = mapped_column(String(200))
    certificate_no: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draw(Base):
    """A commit-reveal random draw of a plan (protocol ``spotcheck.draw.v1``, see ``spotcheck.sdk._draws``).

    The secret is kept sealed with the master key until the reveal publishes it; one draw per plan and scope.
    """

    __tablename__ = "draws"
    __table_args__ = (UniqueConstraint("plan_id", "scope_sha256"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    authority_id: Mapped[str] = mapped_column(ForeignKey("authorities.id"), index=True)
    plan_number: Mapped[str] = mapped_column(String(80))
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scope_sha256: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    candidates: Mapped[list[Any]] = mapped_column(default=list)
    candidates_sha256: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    committed_at: Mapped[datetime]
    committed_by: Mapped[str] = mapped_column(String(40))
    inspector_count: Mapped[int | None] = mapped_column(Integer)
    inspector_candidates: Mapped[list[Any] | None] = mapped_column(JSONType)
    inspector_candidates_sha256: Mapped[str | None] = mapped_column(String(64))
    beacon: Mapped[str | None] = mapped_column(String(500))
    beacon_source: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[str | None] = mapped_column(String(64))
    revealed_at: Mapped[datetime | None]
    revealed_by: Mapped[str | None] = mapped_column(String(40))
    selected: Mapped[list[Any] | None] = mapped_column(JSONType)
    inspector_selected: Mapped[list[Any] | None] = mapped_column(JSONType)
