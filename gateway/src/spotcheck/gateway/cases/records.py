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

__all__ = [
    "BackupOutcomeRecord",
    "BackupShippedRecord",
    "PurchaseRecord",
    "PurchaseScreenshots",
    "ReinspectionApplicationRecord",
    "ResultRecord",
    "SealingRecord",
]


_Captures = Annotated[list[Sha256Hex], Meta(min_length=1, max_length=20)]


class PurchaseScreenshots(RequestBody, kw_only=True, frozen=True):
    """Screen captures of the online purchase (网络截屏, the opinion 三(一)), each an image in the case's evidence.

    Attributes:
        merchant: 经营者信息截屏 — the merchant's shop and identity information.
        product: 商品信息截屏 — the product information (listing) as offered.
        transaction: 交易过程截屏 — the transaction: order, payment, delivery.
    """

    merchant: _Captures
    product: _Captures
    transaction: _Captures


class PurchaseRecord(RequestBody, kw_only=True, frozen=True):
    """The sample and backup sample bought online, with the evidence of the whole purchase (the opinion 三(一)).

    ``screenshots`` and every ``evidence`` digest must name files already uploaded to this case's evidence.
    """

    purchased_at: Timestamp
    buyer_account: ShortText
    buyer_name: ShortText
    delivery_address: ShortText
    orders: Annotated[list[OrderRef], Meta(min_length=1, max_length=20)]
    screenshots: PurchaseScreenshots
    evidence: list[EvidenceRef] = msgspec.field(default_factory=list)
    # Which of the plan's buyers, accounts and addresses were used, and what was paid (the plan's expense ledger).
    buyer_id: Identifier | None = None
    account: ShortText | None = None
    address_id: Identifier | None = None
    amount_fen: Fen | None = None


class SealingRecord(RequestBody, kw_only=True, frozen=True):
    """Joint unpacking and sealing of sample and backup sample, video-recorded (the opinion 三(一)).

    Every ``evidence`` digest must name a file of this case's evidence, and one of them the video of the unpacking
    and sealing.
    """

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


class BackupShippedRecord(RequestBody, kw_only=True, frozen=True):
    """The backup sample shipped back to the sampled merchant (备份样品退还, the opinion 三(一))."""

    shipped_at: Timestamp
    carrier: ShortText | None = None
    waybill_no: Identifier | None = None
    evidence: Annotated[list[Sha256Hex], Meta(max_length=20)] = msgspec.field(default_factory=list)


class BackupOutcomeRecord(RequestBody, kw_only=True, frozen=True):
    """Whether the merchant accepted the returned backup sample; a refusal breaches the duty the notice stated."""

    outcome: Literal["accepted", "refused"]
    at: Timestamp
    note: LongText | None = None
    evidence: Annotated[list[Sha256Hex], Meta(max_length=20)] = msgspec.field(default_factory=list)
