"""Request and response bodies of the sanctions API: penalty decisions and consumer warnings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from spotcheck.gateway.web.bodies import RequestBody
from spotcheck.schemas import USCC, Fen, Identifier, LongText, ShortText, is_valid_uscc

__all__ = ["PenaltyCreate", "PenaltyPartyBody", "PenaltyView", "WarningCreate", "WarningView"]

DecisionNo = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+\Z")]
"""行政处罚决定书文号, e.g. ``杭市监处罚〔2026〕12号``: any printable text."""


class PenaltyPartyBody(RequestBody, kw_only=True, frozen=True):
    """行政处罚当事人: the sampled merchant or the labelled manufacturer, with its unified social credit code."""

    role: Literal["merchant", "manufacturer"] = "merchant"
    name: ShortText
    uscc: USCC
    legal_representative: ShortText | None = None

    def __post_init__(self) -> None:
        if not is_valid_uscc(self.uscc):
            raise ValueError("`uscc`: 统一社会信用代码无效（GB 32100-2015 校验码不符）")


class PenaltyCreate(RequestBody, kw_only=True, frozen=True):
    """An administrative penalty decision after a case (四(三)): the summary the credit record publishes."""

    decision_no: DecisionNo
    decided_on: date
    party: PenaltyPartyBody
    violation_type: ShortText
    facts: LongText
    legal_basis: LongText
    content: LongText
    fine_fen: Fen | None = None
    confiscated_fen: Fen | None = None
    authority_name: ShortText | None = None


class PenaltyView(msgspec.Struct, kw_only=True):
    """A recorded penalty decision and where the public reads it."""

    id: str
    case_id: str
    merchant_id: str | None
    decision_no: str
    decided_on: date
    party_role: str
    party_name: str
    party_uscc: str
    legal_representative: str | None
    violation_type: str
    facts: str
    legal_basis: str
    content: str
    fine_fen: int | None
    confiscated_fen: int | None
    authority_name: str
    published_at: datetime
    public_url: str


class WarningCreate(RequestBody, kw_only=True, frozen=True):
    """A consumer warning (消费警示), tied to published results and/or hazard-list entries."""

    title: ShortText
    body: LongText
    case_ids: Annotated[list[Identifier], Meta(max_length=50)] = msgspec.field(default_factory=list)
    hazard_listing_ids: Annotated[list[Identifier], Meta(max_length=50)] = msgspec.field(default_factory=list)


class WarningView(msgspec.Struct, kw_only=True):
    """A published consumer warning and where the public reads it."""

    id: str
    title: str
    body: str
    authority_name: str
    case_ids: list[str]
    hazard_listing_ids: list[str]
    published_at: datetime
    public_url: str
