"""Tables for what follows a failing case: the hazard list, consumer warnings, penalty decisions (migration ``0008``).

Also the return of the backup sample, a duty the sampling notice states (三(一)). Public records (the list,
warnings, penalties) carry the case id without a foreign key, as announcements do: a publication outlives any
cleanup of the case tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from spotcheck.gateway.store.models import Base
from spotcheck.gateway.store.types import JSONType, utcnow

__all__ = ["BackupSampleReturn", "ConsumerWarning", "HazardListing", "PenaltyDecision"]


class HazardListing(Base):
    """An entry of the published list of products that endanger life or property and fail a mandatory standard.

    The opinion's 四(二), third paragraph: once the list is published, every merchant, online and offline, stops
    selling the same trademark and spec/model. One entry per case; ``announcement_id`` is the announcement that
    addressed the offline merchants of the bureau's jurisdiction.
    """

    __tablename__ = "hazard_listings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), unique=True)
    authority_id: Mapped[str] = mapped_column(String(40), index=True)
    authority_name: Mapped[str] = mapped_column(String(200))
    jurisdiction_division: Mapped[str] = mapped_column(String(6))
    product: Mapped[str] = mapped_column(String(200))
    trademark: Mapped[str] = mapped_column(String(200))
    spec_model: Mapped[str] = mapped_column(String(200))
    manufacturer_name: Mapped[str | None] = mapped_column(String(200))
    failing_items: Mapped[list[Any]] = mapped_column(default=list)
    mandatory_standard: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(String(500))
    platforms: Mapped[list[Any]] = mapped_column(default=list)
    announcement_id: Mapped[str | None] = mapped_column(String(40))
    listed_by: Mapped[str] = mapped_column(String(120))
    listed_at: Mapped[datetime] = mapped_column(index=True)


class ConsumerWarning(Base):
    """A consumer warning (消费警示, the opinion's 一 and 六(二)) tied to published results or hazard-list entries."""

    __tablename__ = "consumer_warnings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    authority_id: Mapped[str] = mapped_column(String(40), index=True)
    authority_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    case_ids: Mapped[list[Any]] = mapped_column(default=list)
    hazard_listing_ids: Mapped[list[Any]] = mapped_column(default=list)
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime] = mapped_column(index=True)


class PenaltyDecision(Base):
    """An administrative penalty decision after a case, published for the enterprise credit record (四(三)).

    ``merchant_id`` links the decision to the sampled merchant's record when the party is that merchant.
    ``decision_no`` (行政处罚决定书文号) is unique.
    """

    __tablename__ = "penalty_decisions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), index=True)
    merchant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    decision_no: Mapped[str] = mapped_column(String(128), unique=True)
    decided_on: Mapped[date] = mapped_column(Date)
    party_role: Mapped[str] = mapped_column(String(16))
    party_name: Mapped[str] = mapped_column(String(200))
    party_uscc: Mapped[str] = mapped_column(String(18), index=True)
    legal_representative: Mapped[str | None] = mapped_column(String(200))
    violation_type: Mapped[str] = mapped_column(String(200))
    facts: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    fine_fen: Mapped[int | None] = mapped_column(BigInteger)
    confiscated_fen: Mapped[int | None] = mapped_column(BigInteger)
    authority_id: Mapped[str] = mapped_column(String(40), index=True)
    authority_name: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime] = mapped_column(index=True)


class BackupSampleReturn(Base):
    """The return of the backup sample to the sampled merchant (三(一)): shipped when, accepted or refused.

    A refusal breaches the duty the sampling notice stated; ``breach`` records which notice stated it.
    """

    __tablename__ = "backup_sample_returns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), unique=True)
    shipped_at: Mapped[datetime]
    carrier: Mapped[str | None] = mapped_column(String(200))
    waybill_no: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    breach: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    recorded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
