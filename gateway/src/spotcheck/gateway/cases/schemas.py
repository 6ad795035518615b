"""Request and response bodies of the case API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from spotcheck.gateway.deadlines.schemas import DeadlineView
from spotcheck.gateway.web.bodies import Email, RequestBody, WorkingDays
from spotcheck.schemas import (
    EvidenceRef,
    FailingItem,
    Identifier,
    LongText,
    OrderRef,
    ProductRef,
    Sha256Hex,
    ShortText,
    Timestamp,
)

__all__ = [
    "CaseCreate",
    "CaseView",
    "CloseBody",
    "DelistingBody",
    "FinalizeBody",
    "IdentityRequestBody",
    "PublishBody",
    "PurchaseRecord",
    "RecordsRequestBody",
    "ReferralBody",
    "ReinspectionApplicationRecord",
    "ReinspectionDecisionBody",
    "ReinspectionOutcomeBody",
    "ResultRecord",
    "SealingRecord",
    "StopSaleBody",
    "TakedownBody",
    "TransferBody",
]


class CaseCreate(RequestBody, kw_only=True, frozen=True):
    """Open a case from a sampling plan (抽检实施方案)."""

    merchant_id: Identifier
    manufacturer_id: Identifier | None = None
    plan_reference: ShortText
    product: ProductRef


class PurchaseRecord(RequestBody, kw_only=True, frozen=True):
    """The sample and backup sample bought online, with the evidence of the whole purchase (seed 三(一))."""

    purchased_at: Timestamp
    buyer_account: ShortText
    buyer_name: ShortText
    delivery_address: ShortText
    orders: Annotated[list[OrderRef], Meta(min_length=1, max_length=20)]
    evidence: list[EvidenceRef] = msgspec.field(default_factory=list)


class SealingRecord(RequestBody, kw_only=True, frozen=True):
    """Joint unpacking and sealing of sample and backup sample, video-recorded (seed 三(一))."""

    sealed_at: Timestamp
    sample_seal_no: ShortText
    backup_seal_no: ShortText
    witnesses: Annotated[list[ShortText], Meta(min_length=3, max_length=10)]
    evidence: Annotated[list[EvidenceRef], Meta(min_length=1)]


class RecordsRequestBody(RequestBody, kw_only=True, frozen=True):
    """Ask the platform to confirm orders and provide transaction records and logs."""

    order_nos: Annotated[list[Identifier], Meta(min_length=1, max_length=100)]
    records_from: Timestamp
    records_until: Timestamp
    items: Annotated[list[ShortText], Meta(min_length=1, max_length=20)] = msgspec.field(
        default_factory=lambda: ["订单电子单据确认", "交易记录", "操作日志"]
    )
    working_days: WorkingDays = 2

    def __post_init__(self) -> None:
        if self.records_until <= self.records_from:
            raise ValueError("`records_until`: must be after records_from")


class IdentityRequestBody(RequestBody, kw_only=True, frozen=True):
    """Ask the platform for the merchant's real name, address and effective contact (seed 五(一))."""

    working_days: WorkingDays = 2


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


class ReinspectionDecisionBody(RequestBody, kw_only=True, frozen=True):
    """Accept or reject an application."""

    decision: Literal["accepted", "rejected"]
    reason: LongText


class ReinspectionOutcomeBody(RequestBody, kw_only=True, frozen=True):
    """The re-inspection result, which is final."""

    outcome: Literal["upheld", "overturned"]
    report_no: ShortText
    conclusion: Literal["pass", "fail"]
    failing_items: list[FailingItem] = msgspec.field(default_factory=list)


class FinalizeBody(RequestBody, kw_only=True, frozen=True):
    """Make the result final: after the window, or earlier when every party waived re-inspection in writing."""

    waived: bool = False
    note: LongText | None = None


class PublishBody(RequestBody, kw_only=True, frozen=True):
    """Publish the result (seed 四(一))."""

    note: LongText | None = None


class StopSaleBody(RequestBody, kw_only=True, frozen=True):
    """Order the sampled merchant to stop selling (seed 四(二))."""

    warning_measures: list[ShortText] = msgspec.field(default_factory=list)
    working_days: WorkingDays = 2


class DelistingBody(RequestBody, kw_only=True, frozen=True):
    """Publish the hazardous product on the stop-sale list and tell every platform (seed 四(二))."""

    mandatory_standard: ShortText
    working_days: WorkingDays = 2


class TakedownBody(RequestBody, kw_only=True, frozen=True):
    """Have the platform delete, block or disconnect the listing and the merchant's virtual shop."""

    measures: Annotated[list[Literal["delete", "block", "disconnect"]], Meta(min_length=1, max_length=3)]
    include_shop: bool = True
    working_days: WorkingDays = 2


class ReferralBody(RequestBody, kw_only=True, frozen=True):
    """Ask the telecom authority to block a non-platform website or stop its access service."""

    telecom_authority: ShortText
    telecom_email: Email
    measure: Literal["block", "stop_access"] = "block"


class TransferBody(RequestBody, kw_only=True, frozen=True):
    """Transfer a platform operator's violation to the authority where the platform is located (seed 四(三))."""

    violation: LongText


class CloseBody(RequestBody, kw_only=True, frozen=True):
    """Close the case."""

    note: LongText | None = None


class CaseView(msgspec.Struct, kw_only=True):
    """A case as the regulator sees it, with what may be done next."""

    id: str
    state: str
    allowed_actions: list[str]
    authority_id: str
    jurisdiction_division: str
    jurisdiction_basis: str
    platform_id: str | None
    merchant_id: str
    manufacturer_id: str | None
    plan_reference: str
    product: dict[str, Any]
    purchase: dict[str, Any] | None
    sealing: dict[str, Any] | None
    order_confirmation: dict[str, Any] | None
    result: dict[str, Any] | None
    conclusion: str | None
    hazardous: bool
    reinspection_deadline: datetime | None
    measures: list[Any]
    created_at: datetime
    updated_at: datetime
    deadlines: list[DeadlineView] = msgspec.field(default_factory=list)
