"""What a regulator records on a case: the purchase, the sealing, the test result, a written application.

Each arrives as a request body and is kept as it came (``msgspec.to_builtins``), so the API and the services
share this one definition; the API's own bodies (``schemas.py``) re-export them.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from spotcheck.gateway.web.bodies import RequestBody
from spotcheck.schemas import (
    EvidenceRef,
    FailingItem,
    Fen,
    Identifier,
    LongText,
    OrderRef,
    Sha256Hex,
    ShortText,
    Timestamp,
)

__all__ = ["PurchaseRecord", "ReinspectionApplicationRecord", "ResultRecord", "SealingRecord"]


class PurchaseRecord(RequestBody, kw_only=True, frozen=True):
    """The sample and backup sample bought online, with the evidence of the whole purchase (the opinion 三(一))."""

    purchased_at: Timestamp
    buyer_account: ShortText
    buyer_name: ShortText
    delivery_address: ShortText
    orders: Annotated[list[OrderRef], Meta(min_length=1, max_length=20)]
    evidence: list[EvidenceRef] = msgspec.field(default_factory=list)
    # Which of the plan's buyers, accounts and addresses were used, and what was paid (the plan's expense ledger).
    buyer_id: Identifier | None = None
    account: ShortText | None = None
    address_id: Identifier | None = None
    amount_fen: Fen | None = None


class SealingRecord(RequestBody, kw_only=True, frozen=True):
    """Joint unpacking and sealing of sample and backup sample, video-recorded (the opinion 三(一))."""

    sealed_at: Timestamp
    sample_seal_no: ShortText
    backup_seal_no: ShortText
    witnesses: Annotated[list[ShortText], Meta(min_length=3, max_length=10)]
    evidence: Annotated[list[EvidenceRef], Meta(min_length=1)]


class ResultRecord(RequestBody, kw_only=True, frozen=True):
    """The testing institution's result."""

    received_at: Timestamp
    conclusion: Literal["pass", "fail"]
    report_no: ShortText
    institution: ShortText
    failing_items: list[FailingItem] = msgspec.field(default_factory=list)
    hazardous: bool = False
    mandatory_standard_failed: bool = False

    def __post_init__(self) -> None:
        if self.conclusion == "fail" and not self.failing_items:
            raise ValueError("`failing_items`: a failing result names at least one failing item")
        if self.conclusion == "pass" and (self.failing_items or self.hazardous or self.mandatory_standard_failed):
            raise ValueError("`conclusion`: a passing result cannot have failing items or hazards")


class ReinspectionApplicationRecord(RequestBody, kw_only=True, frozen=True):
    """A written re-inspection application received directly by the authority."""

    applicant_role: Literal["merchant", "manufacturer"]
    applicant_name: ShortText
    applied_at: Timestamp
    document_sha256: Sha256Hex
    reason: LongText
